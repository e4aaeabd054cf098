"""Vocabularies of the embedded scene grammar: shapes, colours, sizes, positions, textures, counts,
words, relations, a 3x5 pixel font, and the caption synonyms of each name.

Everything here is data. The canonical name (the dict key, the tuple entry) is what `Scene` stores
and what evaluation tasks use as class names; the synonyms are what captions may say instead.
Changing any value changes every rendered image: bump `GRAMMAR_VERSION` when you do (also when the
sample streams of `clipscale.data.embedded` change: caches key on it).
"""
from __future__ import annotations

GRAMMAR_VERSION = 3

# Shapes, in the order class indices use. Several are confusable at 10-17 px (pentagon, hexagon,
# circle; square, rectangle, trapezoid): that is what makes the shape axis fine-grained.
SHAPES: tuple[str, ...] = (
    "circle", "square", "triangle", "diamond", "star", "cross", "heart", "hexagon",
    "pentagon", "ring", "crescent", "semicircle", "ellipse", "arrow", "rectangle", "trapezoid",
)

# Named colours (sRGB, 0-255). Close pairs (red/orange/brown, pink/purple, cyan/green/blue,
# white/grey) make colour a fine-grained attribute, not a free one. Each object jitters its RGB.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 35, 35),
    "orange": (245, 135, 20),
    "yellow": (235, 215, 40),
    "green": (45, 165, 55),
    "cyan": (40, 200, 205),
    "blue": (40, 75, 215),
    "purple": (135, 55, 185),
    "pink": (245, 135, 190),
    "brown": (125, 75, 35),
    "white": (245, 245, 245),
    "grey": (130, 130, 130),
    "black": (20, 20, 20),
}
COLOUR_JITTER = 18  # max abs. change per RGB channel (0-255 units)

# Object diameter as a fraction of the image side; each object jitters it by +-SIZE_JITTER.
SIZES: dict[str, float] = {"small": 0.30, "large": 0.50}
SIZE_JITTER = 0.08  # relative

# Positions: the cells of a 3x3 grid, row-major; name -> (column, row).
POSITIONS: dict[str, tuple[int, int]] = {
    "top left": (0, 0), "top": (1, 0), "top right": (2, 0),
    "left": (0, 1), "centre": (1, 1), "right": (2, 1),
    "bottom left": (0, 2), "bottom": (1, 2), "bottom right": (2, 2),
}

TEXTURES: tuple[str, ...] = ("solid", "striped", "dotted", "checkered")

COUNTS: tuple[int, ...] = (1, 2, 3, 4, 5)
NUMBER_WORDS: dict[int, str] = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}

# "A REL B": where A sits relative to B.
RELATIONS: tuple[str, ...] = ("left of", "right of", "above", "below")

# Rendered words (three letters fit 32 px at 2 px per font pixel) and numbers 0-99.
WORDS: tuple[str, ...] = (
    "cat", "dog", "sun", "car", "box", "map", "hat", "key", "cup", "bus",
    "pen", "egg", "owl", "fox", "zoo", "jam", "bed", "ice", "toy", "web",
)
NUMBERS: tuple[str, ...] = tuple(str(n) for n in range(100))

# Scene kinds and how often the training stream draws each (fractions, sum 1).
KIND_WEIGHTS: dict[str, float] = {"single": 0.45, "count": 0.15, "relation": 0.25, "text": 0.15}

# Caption synonyms: canonical name -> phrases a caption may use instead.
SHAPE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "circle": ("circle", "disc", "round dot"), "square": ("square",), "triangle": ("triangle",),
    "diamond": ("diamond", "rhombus"), "star": ("star",), "cross": ("cross", "plus sign"),
    "heart": ("heart",), "hexagon": ("hexagon",), "pentagon": ("pentagon",),
    "ring": ("ring", "donut", "hoop"), "crescent": ("crescent", "moon shape"),
    "semicircle": ("semicircle", "half circle"), "ellipse": ("ellipse", "oval"),
    "arrow": ("arrow",), "rectangle": ("rectangle", "bar"), "trapezoid": ("trapezoid", "trapezium"),
}
SHAPE_PLURALS: dict[str, str] = {"cross": "crosses", "plus sign": "plus signs", "rhombus": "rhombuses",
                                 "moon shape": "moon shapes", "half circle": "half circles"}
COLOUR_SYNONYMS: dict[str, tuple[str, ...]] = {
    **{c: (c,) for c in COLOURS}, "grey": ("grey", "gray"), "purple": ("purple", "violet"),
    "cyan": ("cyan", "turquoise"),
}
SIZE_SYNONYMS: dict[str, tuple[str, ...]] = {"small": ("small", "little", "tiny"),
                                             "large": ("large", "big", "huge")}
TEXTURE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "solid": ("solid", "plain", ""), "striped": ("striped", "stripy"),
    "dotted": ("dotted", "spotted", "polka dot"), "checkered": ("checkered", "chequered", "checked"),
}
POSITION_PHRASES: dict[str, tuple[str, ...]] = {
    "top left": ("in the top left corner", "at the top left"),
    "top": ("at the top", "near the top edge"),
    "top right": ("in the top right corner", "at the top right"),
    "left": ("on the left", "at the left side"),
    "centre": ("in the centre", "in the middle"),
    "right": ("on the right", "at the right side"),
    "bottom left": ("in the bottom left corner", "at the bottom left"),
    "bottom": ("at the bottom", "near the bottom edge"),
    "bottom right": ("in the bottom right corner", "at the bottom right"),
}
RELATION_PHRASES: dict[str, tuple[str, ...]] = {
    "left of": ("to the left of", "left of"), "right of": ("to the right of", "right of"),
    "above": ("above", "over"), "below": ("below", "under"),
}
PREFIXES: tuple[str, ...] = (
    "", "a photo of", "an image of", "a picture of", "a drawing of", "a rendering of",
    "a close-up of", "there is", "this is", "a clip art of",
)

# A 3x5 pixel font, rows top to bottom, '#' = ink. Public domain style glyphs, drawn for clipscale.
FONT_3X5: dict[str, tuple[str, ...]] = {
    "0": ("###", "#.#", "#.#", "#.#", "###"), "1": (".#.", "##.", ".#.", ".#.", "###"),
    "2": ("###", "..#", "###", "#..", "###"), "3": ("###", "..#", "###", "..#", "###"),
    "4": ("#.#", "#.#", "###", "..#", "..#"), "5": ("###", "#..", "###", "..#", "###"),
    "6": ("###", "#..", "###", "#.#", "###"), "7": ("###", "..#", "..#", ".#.", ".#."),
    "8": ("###", "#.#", "###", "#.#", "###"), "9": ("###", "#.#", "###", "..#", "###"),
    "a": (".#.", "#.#", "###", "#.#", "#.#"), "b": ("##.", "#.#", "##.", "#.#", "##."),
    "c": (".##", "#..", "#..", "#..", ".##"), "d": ("##.", "#.#", "#.#", "#.#", "##."),
    "e": ("###", "#..", "##.", "#..", "###"), "f": ("###", "#..", "##.", "#..", "#.."),
    "g": (".##", "#..", "#.#", "#.#", ".##"), "h": ("#.#", "#.#", "###", "#.#", "#.#"),
    "i": ("###", ".#.", ".#.", ".#.", "###"), "j": ("..#", "..#", "..#", "#.#", ".#."),
    "k": ("#.#", "#.#", "##.", "#.#", "#.#"), "l": ("#..", "#..", "#..", "#..", "###"),
    "m": ("#.#", "###", "###", "#.#", "#.#"), "n": ("##.", "#.#", "#.#", "#.#", "#.#"),
    "o": (".#.", "#.#", "#.#", "#.#", ".#."), "p": ("##.", "#.#", "##.", "#..", "#.."),
    "q": (".#.", "#.#", "#.#", "##.", ".##"), "r": ("##.", "#.#", "##.", "#.#", "#.#"),
    "s": (".##", "#..", ".#.", "..#", "##."), "t": ("###", ".#.", ".#.", ".#.", ".#."),
    "u": ("#.#", "#.#", "#.#", "#.#", "###"), "v": ("#.#", "#.#", "#.#", "#.#", ".#."),
    "w": ("#.#", "#.#", "###", "###", "#.#"), "x": ("#.#", "#.#", ".#.", "#.#", "#.#"),
    "y": ("#.#", "#.#", ".#.", ".#.", ".#."), "z": ("###", "..#", ".#.", "#..", "###"),
}
