"""The native engine: OpenCLIP's model, tokenizer, loss and recipe in a small deterministic loop.

Recipe (OpenCLIP, open_clip_train/main.py and train.py): AdamW betas (0.9, 0.98), eps 1e-6, weight
decay on matrices only (not on gains, biases or the logit scale), linear warmup then cosine decay,
logit scale clamped to [0, ln 100] after each step. Under torchrun the features of all ranks are
gathered with gradients (ClipLoss gather_with_grad=True, local_loss=False), so K processes compute
the loss of the full global batch exactly as one process would.

Determinism: the batch of step k is a function of (seed, k) (see batches.py), the model is
initialised from torch.manual_seed(seed), nothing random happens inside a step, and a checkpoint
holds everything else (weights, optimizer moments, step), so an interrupted run resumed from its
last checkpoint gives the same bits as an uninterrupted one (same device and thread count).
"""
from __future__ import annotations

import contextlib
import json
import logging
import math
import time
import warnings
from pathlib import Path

import torch
from open_clip.loss import ClipLoss

from clipscale.errors import TrainingError, UserInputError
from clipscale.train import distributed
from clipscale.train.run import RunFolder, TrainResult, checkpoint_name, compute_record
from clipscale._logs import quiet_openclip
from clipscale.train.spec import TrainSpec

LOGIT_SCALE_MAX = math.log(100)  # OpenCLIP clamps the learned temperature at 100
LOG_ROWS = 200  # about this many metrics rows per run
PROGRESS_EVERY_S = 2.0  # how often a run tells watchers its samples seen (progress.json)
_log = logging.getLogger(__name__)  # the CLI shows clipscale's info and warnings on stderr


def build_model(spec: TrainSpec, device: torch.device):
    """(model, preprocess, tokenizer), initialised from spec.seed on the CPU then moved."""
    import open_clip

    from clipscale.models import model_config

    model_config(spec.model)  # NotFoundError listing the valid names
    torch.manual_seed(spec.seed)
    with quiet_openclip():  # training from scratch is the point: no weights is expected
        model, _, preprocess = open_clip.create_model_and_transforms(spec.model, precision="fp32")
    return model.to(device).train(), preprocess, open_clip.get_tokenizer(spec.model)


def decays(param: torch.Tensor) -> bool:
    """Whether AdamW's weight decay applies to a parameter: matrices and kernels (>= 2-d) only.

    OpenCLIP's rule (open_clip_train/main.py, `exclude = lambda n, p: p.ndim < 2 or "bn" in n or
    "ln" in n or "bias" in n or 'logit_scale' in n`) decided by dimension: gains, biases, the class
    embedding (1-d) and the logit scale (0-d) are exactly the < 2-d tensors of OpenCLIP's ViT, ResNet,
    ConvNeXt and text towers, so the names add nothing there (tests/train/test_native.py checks the
    two rules agree on every ladder model). The one known difference: timm Swin towers'
    `relative_position_bias_table` (2-d) is decayed here, not by open_clip_train.
    """
    return param.ndim >= 2


def build_optimizer(model: torch.nn.Module, spec: TrainSpec) -> torch.optim.Optimizer:
    """AdamW with OpenCLIP's decay rule (see `decays`): no decay on gains, biases nor the logit scale."""
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if decays(p) else no_decay).append(p)
    groups = [{"params": no_decay, "weight_decay": 0.0}, {"params": decay, "weight_decay": spec.weight_decay}]
    # fused: one kernel for all parameters; the token embedding alone (49408 x width) makes the
    # per-parameter update a large share of a tiny model's step.
    try:
        return torch.optim.AdamW(groups, lr=spec.lr, betas=(0.9, 0.98), eps=1e-6, fused=True)
    except RuntimeError:  # torch < 2.4 has no fused AdamW on CPU
        return torch.optim.AdamW(groups, lr=spec.lr, betas=(0.9, 0.98), eps=1e-6)


def schedule(spec: TrainSpec):
    """step -> lr. cosine: OpenCLIP's cosine_lr (linear warmup to spec.lr over warmup_steps, then
    cosine to 0). const-cooldown / const: see const_cooldown_lr."""
    if spec.schedule != "cosine":
        return lambda step: const_cooldown_lr(spec, step)
    from open_clip_train.scheduler import cosine_lr

    class _Sink:  # cosine_lr writes into an optimizer's param groups; we only want the number
        param_groups = [{}]

    # OpenCLIP divides by the warmup length; zero warmup means "start at the full rate".
    return cosine_lr(_Sink, spec.lr, max(spec.warmup_steps, 1), spec.total_steps)


def const_cooldown_lr(spec: TrainSpec, step: int) -> float:
    """The lr of 0-based `step`: OpenCLIP's linear warmup (lr x (step+1) / warmup_steps), then the
    constant peak lr; for const-cooldown, from cooldown_start_step on, lr decays over the
    cooldown_steps as final + (lr - final) x g(p), p = steps into the cool-down / its length, with
    g(p) = 1 - p (linear, as open_clip_train's const-cooldown with power 1) or 1 - sqrt(p) (Hägele
    et al. 2024's recommended shape). The lr of a step never depends on samples_seen before the
    cool-down, which is what lets runs of several lengths share one trunk."""
    warmup = spec.warmup_steps
    if step < warmup:
        return spec.lr * (step + 1) / warmup
    start = spec.cooldown_start_step
    if spec.schedule == "const" or step < start:
        return spec.lr
    p = (step - start) / spec.cooldown_steps
    g = 1 - p if spec.cooldown_shape == "linear" else 1 - math.sqrt(p)
    return spec.final_lr + (spec.lr - spec.final_lr) * g


@contextlib.contextmanager
def autocast(spec: TrainSpec, device: torch.device):
    """The precision context of a forward: bf16 autocast or plain fp32; on CPU, also the attention kernel.

    At these sequence lengths (17 image, 24 text tokens) the plain matmul-softmax attention beats
    PyTorch's CPU flash kernel (ladder-m, batch 128: 257 vs 282 ms a step with 2 threads).
    """
    with contextlib.ExitStack() as stack:
        if device.type == "cpu":
            from torch.nn.attention import SDPBackend, sdpa_kernel

            stack.enter_context(sdpa_kernel(SDPBackend.MATH))
        if spec.precision == "bf16":
            stack.enter_context(torch.autocast(device_type=device.type, dtype=torch.bfloat16))
        yield


def train_step(model, loss_fn, optimizer, images, tokens, lr: float, amp) -> torch.Tensor:
    """One optimizer step; returns the loss (a 0-d tensor, not synchronised)."""
    for group in optimizer.param_groups:
        group["lr"] = lr
    with amp:
        image_features, text_features, logit_scale = model(images, tokens)[:3]
        loss = loss_fn(image_features, text_features, logit_scale)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    with torch.no_grad():  # OpenCLIP clamps after the step so the temperature never exceeds 100
        _unwrap(model).logit_scale.clamp_(0, LOGIT_SCALE_MAX)
    return loss.detach()


def _unwrap(model):
    return model.module if hasattr(model, "module") else model


def make_batches(spec: TrainSpec, dist: distributed.Dist, tokenizer, preprocess, image_size: int):
    from clipscale.train.batches import EmbeddedBatches, ShardBatches

    if spec.train_data:
        return ShardBatches(spec.train_data, spec.batch_size, spec.seed, tokenizer, preprocess,
                            dist.rank, dist.world_size)
    import open_clip

    text_cfg = open_clip.get_model_config(spec.model).get("text_cfg", {})
    # What decides OpenCLIP's get_tokenizer: runs whose text configs agree tokenize alike.
    key = json.dumps({k: text_cfg.get(k) for k in ("hf_tokenizer_name", "tokenizer_kwargs", "context_length",
                                                   "vocab_size")}, sort_keys=True, default=str)
    return EmbeddedBatches(spec.data_size, spec.batch_size, spec.seed, tokenizer, image_size,
                           dist.rank, dist.world_size, prerender=_worth_prerendering(spec, key, image_size),
                           tokenizer_key=key)


def _worth_prerendering(spec: TrainSpec, key: str, image_size: int) -> bool:
    """Render and tokenize the whole data up front when the run draws at least half of it, or when
    this process already holds the rendering (a study worker, or a trunk's cool-down branches);
    otherwise render each batch as it comes. Both give the same batches."""
    from clipscale.train import batches

    held = batches.rendered_pairs(image_size, key) >= spec.data_size
    return held or 2 * spec.samples_seen >= spec.data_size


def _resume_state(folder: RunFolder, model, optimizer, resume: bool) -> dict:
    """Load the last checkpoint into model and optimizer; {} when starting fresh."""
    paths = folder.checkpoints() if resume else []
    if not paths:
        return {}
    ckpt = torch.load(paths[-1], map_location="cpu", weights_only=True)
    model.load_state_dict(ckpt["state_dict"])
    optimizer.load_state_dict(ckpt["optimizer"])
    torch.set_rng_state(ckpt["rng_cpu"])
    return ckpt


# Fields a branch may change relative to its trunk (everything else must match, bit for bit).
_BRANCH_FREE = {"samples_seen", "epochs", "epoch_ends", "schedule", "cooldown", "cooldown_shape", "final_lr",
                "num_threads"}


def _branch_state(init_from: Path, spec: TrainSpec, model, optimizer) -> dict:
    """Start a cool-down branch from a checkpoint of its constant-lr trunk at or before the branch's
    cool-down start: the steps in between are the trunk's own (constant lr, batches a function of
    the step), so the branch equals the dedicated const-cooldown run either way. An elastic top
    level (clipscale.train.branches) starts this way, from the trunk's last fixed checkpoint."""
    ckpt = torch.load(init_from, map_location="cpu", weights_only=True)
    trunk = ckpt.get("spec", {})
    mine = spec.to_dict()
    diff = sorted(k for k in (set(trunk) | set(mine)) - _BRANCH_FREE if trunk.get(k) != mine.get(k))
    if diff or trunk.get("schedule") != "const" or spec.schedule != "const-cooldown":
        raise UserInputError(f"{init_from} is not a constant-lr trunk of this branch (differs in "
                             f"{diff or ['schedule']}); retrain the trunk or choose a new --out")
    if ckpt["step"] > spec.cooldown_start_step:
        raise UserInputError(f"{init_from} is at step {ckpt['step']}, past the branch's cool-down start (step "
                             f"{spec.cooldown_start_step}); use a trunk checkpoint at or before that step")
    model.load_state_dict(ckpt["state_dict"])
    optimizer.load_state_dict(ckpt["optimizer"])
    torch.set_rng_state(ckpt["rng_cpu"])
    return {"step": ckpt["step"], "wall_s": 0.0}  # the branch's wall clock counts only its own steps


def _checkpoint(folder: RunFolder, spec: TrainSpec, model, optimizer, epoch: int, step: int, wall_s: float) -> Path:
    """OpenCLIP's layout (state_dict, optimizer, epoch, name) plus what exact resume needs.
    The final checkpoint of a const-cooldown run (a branch) carries study_point=True."""
    state = _unwrap(model).state_dict()
    payload = {"epoch": epoch, "name": spec.model, "state_dict": state, "optimizer": optimizer.state_dict(),
               "step": step, "samples_seen": step * spec.batch_size, "wall_s": wall_s,
               "rng_cpu": torch.get_rng_state(), "spec": spec.to_dict()}
    if spec.schedule != "cosine":
        payload["study_point"] = spec.schedule == "const-cooldown" and epoch == spec.epochs
    return folder.save_checkpoint(epoch, payload)


def run(spec: TrainSpec, out_dir: str | Path, *, resume: bool = True, progress: bool = True,
        init_from: str | Path | None = None) -> TrainResult:
    """Train `spec` into `out_dir` (see clipscale.train.train); `init_from`: a trunk checkpoint a
    const-cooldown branch starts from when its folder holds no checkpoint of its own."""
    from clipscale.models import model_config

    t0 = time.perf_counter()
    model_config(spec.model)  # NotFoundError before anything is written
    dist = distributed.setup()
    if spec.num_threads:
        torch.set_num_threads(spec.num_threads)
    if dist.device.type == "cuda":
        _deterministic_cuda()
    folder = RunFolder(out_dir)
    done = folder.finished(spec)
    if done is not None:
        return done
    _claim(folder, spec, dist, resume)
    model, preprocess, tokenizer = build_model(spec, dist.device)
    optimizer = build_optimizer(model, spec)
    state = _resume_state(folder, model, optimizer, resume)
    if state and dist.is_main:
        _log.info("%s: resuming from epoch %d (step %d of %d, %d samples seen)", folder.root, state["epoch"],
                  state["step"], spec.total_steps, state["step"] * spec.batch_size)
    if not state and init_from is not None:
        state = _branch_state(Path(init_from), spec, model, optimizer)
    loss_fn = ClipLoss(gather_with_grad=True, rank=dist.rank, world_size=dist.world_size)
    ddp = model
    if dist.distributed:  # CPU modules take device_ids=None (what open_clip_train gets wrong)
        ids = [dist.device] if dist.device.type == "cuda" else None
        ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
    size = model_config(spec.model)["vision_cfg"].get("image_size", 224)  # not every tower has .image_size
    batches = make_batches(spec, dist, tokenizer, preprocess, size[0] if isinstance(size, (list, tuple)) else size)
    loop = _Loop(spec, dist, folder, state, progress, t0)
    with warnings.catch_warnings():  # scoped to this run, not the process
        # OpenCLIP's gather uses torch.distributed.nn.all_gather, deprecated (still correct) in torch 2.x.
        warnings.filterwarnings("ignore", message=".*all_gather is deprecated", category=FutureWarning)
        loop.run(ddp, model, loss_fn, optimizer, batches)
    result = TrainResult(out_dir=folder.root, checkpoints=folder.checkpoints(),
                         final_checkpoint=folder.checkpoint(spec.epochs), samples_seen=loop.step * spec.batch_size,
                         steps=loop.step, wall_s=loop.wall_s(),
                         samples_per_s=loop.samples_per_s, engine="native",
                         extra={"world_size": dist.world_size, "threads": torch.get_num_threads(),
                                "device": str(dist.device), **compute_record(spec.model, loop.step * spec.batch_size),
                                **_branch_record(spec, init_from)})
    if dist.is_main:
        folder.finish(result)
    distributed.barrier(dist)
    return result


def _branch_record(spec: TrainSpec, init_from) -> dict:
    """done.json extras of a branch: where it started, what it trained and which checkpoint is its
    study point."""
    if init_from is None:
        return {}
    start = torch.load(init_from, map_location="cpu", weights_only=True, mmap=True)["step"]  # mmap: reads one int
    return {"branch_of": str(init_from), "samples_trained": (spec.total_steps - start) * spec.batch_size,
            "study_point": checkpoint_name(spec.epochs)}


def _claim(folder: RunFolder, spec: TrainSpec, dist: distributed.Dist, resume: bool) -> None:
    """Rank 0 checks/claims the folder; its verdict goes to every rank so that all stop together."""
    error = None
    if spec.batch_size % dist.world_size:
        error = f"batch size {spec.batch_size} does not split over {dist.world_size} processes; use a multiple"
    elif dist.is_main:
        try:
            folder.claim(spec, resume)
        except UserInputError as exc:
            error = str(exc)
    error = distributed.broadcast_object(dist, error)
    if error:
        raise UserInputError(error)


def _deterministic_cuda() -> None:
    """Reproducible CUDA kernels, and fp32 meaning fp32 (no TF32 matmuls)."""
    import os

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # required by deterministic cuBLAS
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


class _Loop:
    """The step loop with its bookkeeping: progress bar, metrics rows, checkpoints."""

    def __init__(self, spec: TrainSpec, dist, folder: RunFolder, state: dict, progress: bool, t0: float):
        self.spec, self.dist, self.folder, self.t0 = spec, dist, folder, t0
        self.step = state.get("step", 0)
        self.wall_before = state.get("wall_s", 0.0)
        self.rows = folder.read_metrics(self.step) if dist.is_main else []
        self.log_every = max(1, spec.total_steps // LOG_ROWS)
        self.progress = progress and dist.is_main
        # Killed after its last checkpoint, a run resumes with no step left: keep the logged rate.
        self.samples_per_s = self.rows[-1]["samples_per_s"] if self.rows else 0.0

    def wall_s(self) -> float:
        """Seconds of this run: earlier sessions up to the checkpoint resumed, plus this session."""
        return self.wall_before + time.perf_counter() - self.t0

    def run(self, ddp, model, loss_fn, optimizer, batches) -> None:
        from tqdm import tqdm

        spec, device, lr = self.spec, self.dist.device, schedule(self.spec)
        bar = tqdm(total=spec.total_steps * spec.batch_size, initial=self.step * spec.batch_size, unit="sample",
                   unit_scale=True, desc=spec.model, disable=not self.progress, dynamic_ncols=True)
        start_step = self.step
        t_start = self.t_start = time.perf_counter()
        self.cpu_start = time.process_time()  # CPU seconds: a throughput figure robust to a busy machine
        while self.step < spec.total_steps:
            images, tokens = batches.batch(self.step)
            images, tokens = images.to(device, non_blocking=True), tokens.to(device, non_blocking=True)
            loss = train_step(ddp, loss_fn, optimizer, images, tokens, lr(self.step), autocast(spec, device))
            loss_value = loss.item()  # every rank holds the same global loss, so all stop together
            if not math.isfinite(loss_value):
                raise TrainingError(f"loss is {loss_value} at step {self.step + 1} (lr {lr(self.step):.3g}); "
                                    f"stopped and kept the last good checkpoint in {self.folder.checkpoint_dir}; "
                                    f"lower --lr or use --precision fp32")
            self.step += 1
            elapsed = time.perf_counter() - t_start
            self.samples_per_s = (self.step - start_step) * spec.batch_size / max(elapsed, 1e-9)
            bar.update(spec.batch_size)
            epoch_end = self.step == spec.epoch_end_step(spec.epoch_of_step(self.step - 1))
            if self.step % self.log_every == 0 or epoch_end:
                self._log(loss_value, lr(self.step - 1), model, bar)
            if epoch_end:
                self._save(spec.epoch_of_step(self.step - 1), model, optimizer)
        bar.close()

    def _log(self, loss: float, lr: float, model, bar) -> None:
        row = {"step": self.step, "epoch": self.spec.epoch_of_step(self.step - 1),
               "samples_seen": self.step * self.spec.batch_size, "loss": loss, "lr": lr,
               "logit_scale": model.logit_scale.detach().exp().item(), "samples_per_s": round(self.samples_per_s, 1),
               "elapsed_s": round(time.perf_counter() - self.t_start, 4),
               "cpu_s": round(time.process_time() - self.cpu_start, 4)}
        self.rows.append(row)
        bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
        # metrics.jsonl is rewritten only with a checkpoint (it must match what a resume restores);
        # progress.json tells a watcher (study progress) how far the run is between checkpoints.
        if self.dist.is_main and time.perf_counter() - getattr(self, "_progress_at", 0.0) >= PROGRESS_EVERY_S:
            self._progress_at = time.perf_counter()
            from clipscale._io import atomic_write_json

            atomic_write_json(self.folder.progress_path, {"step": self.step, "samples_seen": row["samples_seen"]})

    def _save(self, epoch: int, model, optimizer) -> None:
        # Every rank holds the same weights, so every rank sees the same answer and stops together.
        if not all(torch.isfinite(p).all() for p in model.parameters()):
            raise TrainingError(f"weights became NaN/inf before epoch {epoch} was saved; kept the last good "
                                f"checkpoint in {self.folder.checkpoint_dir}; lower --lr or use --precision fp32")
        if self.dist.is_main:
            _checkpoint(self.folder, self.spec, model, optimizer, epoch, self.step, self.wall_s())
            self.folder.write_metrics(self.rows)
        distributed.barrier(self.dist)
