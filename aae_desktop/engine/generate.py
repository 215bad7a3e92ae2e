"""The denoising loop: Attend-and-Excite steps, guidance, previews, cancel, decoding."""
from __future__ import annotations

import inspect
import math
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager, Iterator

import torch
from diffusers.utils.torch_utils import randn_tensor
from PIL import Image

from aae_desktop.engine import excite as ae
from aae_desktop.engine import memory_advice
from aae_desktop.engine.attention import CaptureState, StopForward, attention_capture
from aae_desktop.engine.cpu_kernels import native_convolutions, prefers_native_convolutions
from aae_desktop.engine.errors import EngineError, GenerationCancelled, InvalidRequest, NaNLatents, OutOfMemory
from aae_desktop.engine.events import (
    GenerationResult,
    ImageCallback,
    ImageResult,
    LossRecord,
    StepCallback,
    StepEvent,
)
from aae_desktop.engine.memory_estimate import check_fits
from aae_desktop.engine.models import LoadedModel
from aae_desktop.engine.preview import latent_to_rgb, predicted_clean_latent
from aae_desktop.engine.request import GenerationRequest
from aae_desktop.engine.schedulers import make_scheduler
from aae_desktop.engine.tokens import tokenize_prompt

# fp16 loss scaling: start where the excite gradients of SD-sized UNets stay clear of fp16's
# subnormals, and divide on an overflow (rare; that forward is measured again).
FP16_LOSS_SCALE = 2.0 ** 12
LOSS_SCALE_BACKOFF = 2.0 ** 4
# Checking the latents for NaN makes the host wait for the device; every few steps is enough to stop
# a broken run early, and the last step is always checked.
NAN_CHECK_EVERY = 8


@dataclass
class _Run:
    """Per-request state shared by the steps of every image."""

    model: LoadedModel
    request: GenerationRequest
    on_step: StepCallback | None
    cancel: threading.Event | None
    preview_every: int
    decode_preview_every: int
    preview_wanted: Callable[[], bool] | None
    started: float
    cond_embeds: torch.Tensor  # (1, 77, d): what the excite forward sees
    guidance_embeds: torch.Tensor  # (2, 77, d) [negative, positive] or (1, 77, d)
    capture: CaptureState | None = None
    text_stop: int | None = None
    native_convs: bool = False  # see cpu_kernels: UNet convolutions without oneDNN
    loss_scale: float = 1.0  # > 1 only for fp16 UNets; lowered for the rest of the run on overflow
    stage: str = "denoising"  # "decoding" while the VAE runs (out-of-memory advice differs)
    image_index: int = 0
    total_steps: int = 0  # len(timesteps): PNDM runs one more than the requested steps
    losses: list[LossRecord] = field(default_factory=list)
    last_maps: dict[int, torch.Tensor] = field(default_factory=dict)  # on the device; copied once per image

    def check_cancel(self) -> None:
        _check_cancel(self.cancel)

    def emit(self, **fields: Any) -> None:
        if self.on_step is not None:
            self.on_step(StepEvent(image_index=self.image_index, num_images=self.request.num_images,
                                   total_steps=self.total_steps or self.request.steps,
                                   elapsed=time.perf_counter() - self.started, **fields))


def generate(model: LoadedModel, request: GenerationRequest, on_step: StepCallback | None = None,
             cancel: threading.Event | None = None, preview_every: int = 1,
             decode_preview_every: int = 0, preview_wanted: Callable[[], bool] | None = None,
             on_image: ImageCallback | None = None) -> GenerationResult:
    """Render every image of `request`; image i reproduces alone with seed + i.

    Step events carry a PIL preview every `preview_every` steps (a latent approximation) or, where
    `decode_preview_every` is set, every that many steps a VAE-decoded one. A preview copies data
    from the device, so when `preview_wanted` is given it is asked first and a preview is only made
    when it says yes (the window shows a few a second, not one per step).

    `on_image` gets each image as soon as it is decoded, so a caller can save it before the next
    one starts: a batch that is cancelled or fails later keeps what it finished. A cancel raises
    GenerationCancelled with those finished images in its `completed`.
    Raises InvalidRequest, GenerationCancelled, OutOfMemory, NaNLatents or EngineError.
    """
    pipe = model.pipe
    # 1. Check inputs (raises InvalidRequest with a message for the artist), including what only
    #    this model and device can say: its scheduler's training steps and the memory it has.
    warnings = request.validate(pipe.tokenizer)
    _check_model_limits(model, request)
    started = time.perf_counter()
    run: _Run | None = None
    with _translate_device_errors(model, lambda: run.stage if run is not None else "encoding"):
        # 2. Encode the prompts once for the whole batch.
        _check_cancel(cancel)
        cond, guidance = _encode(model, request)
        run = _Run(model, request, on_step, cancel, max(preview_every, 0), max(decode_preview_every, 0),
                   preview_wanted, started, cond, guidance)
        if pipe.unet.dtype == torch.float16:
            run.loss_scale = FP16_LOSS_SCALE
        run.check_cancel()  # a cancel during the setup acts before the first UNet call
        latent_h, latent_w = request.height // pipe.vae_scale_factor, request.width // pipe.vae_scale_factor
        run.native_convs = prefers_native_convolutions(model.device, pipe.unet.dtype, latent_h, latent_w)
        images: list[ImageResult] = []
        capturing: ContextManager[CaptureState | None] = nullcontext(None)
        if request.excite.enabled:
            stop_at_eot = request.excite.softmax_stop_at_eot
            if stop_at_eot is None:
                stop_at_eot = model.family_spec.softmax_stop_at_eot
            if stop_at_eot:
                run.text_stop = tokenize_prompt(pipe.tokenizer, request.prompt).eot_index
            # 3. Capture processors for the loss grid, restored whatever happens.
            capturing = attention_capture(pipe.unet, latent_h, latent_w, request.excite.attn_res,
                                          level=model.family_spec.loss_level)
        try:
            with capturing as capture:
                run.capture = capture
                for i in range(request.num_images):
                    images.append(_render_one(run, i))
                    if on_image is not None:
                        on_image(images[-1])
        except GenerationCancelled as exc:
            exc.completed = list(images)
            raise
    return GenerationResult(request, images, time.perf_counter() - started, model.device, warnings)


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise GenerationCancelled("Generation cancelled.")


def _check_model_limits(model: LoadedModel, request: GenerationRequest) -> None:
    trained = getattr(model.pipe.scheduler.config, "num_train_timesteps", None)
    if trained and request.steps > trained:
        raise InvalidRequest(f"{{field}} must be at most {trained}, the number of noise levels this model was "
                             f"trained with (got {request.steps}).", "steps")
    check_fits(model, request)


def _encode(model: LoadedModel, request: GenerationRequest) -> tuple[torch.Tensor, torch.Tensor]:
    pipe = model.pipe
    use_cfg = request.guidance_scale > 1.0
    with torch.no_grad():
        positive, negative = pipe.encode_prompt(
            request.prompt, _execution_device(pipe), 1, use_cfg, request.negative_prompt or None
        )
    guidance = torch.cat([negative, positive]) if use_cfg else positive
    return positive, guidance


def _execution_device(pipe: Any) -> torch.device:
    return getattr(pipe, "_execution_device", None) or pipe.unet.device


def _render_one(run: _Run, image_index: int) -> ImageResult:
    pipe, request = run.model.pipe, run.request
    device = _execution_device(pipe)
    dtype = pipe.unet.dtype
    seed = request.seed + image_index
    run.image_index, run.losses, run.last_maps, run.stage = image_index, [], {}, "denoising"

    # 4. Timesteps and a fresh scheduler for this image.
    scheduler = make_scheduler(pipe.scheduler, request.scheduler)
    scheduler.set_timesteps(request.steps, device=device)
    timesteps = scheduler.timesteps
    run.total_steps = len(timesteps)

    # 5. Initial noise: drawn on the CPU in fp32, so a seed gives the same image on any device.
    # The latents stay fp32 (master copy) whatever the model's dtype: an excite update is often
    # smaller than half an fp16/bf16 step of the latents and would be rounded away. Only the
    # UNet's input is cast to the model's dtype.
    generator = torch.Generator("cpu").manual_seed(seed)
    shape = (1, pipe.unet.config.in_channels, request.height // pipe.vae_scale_factor,
             request.width // pipe.vae_scale_factor)
    latents = randn_tensor(shape, generator=generator, device=torch.device("cpu"), dtype=torch.float32)
    latents = latents.to(device=device) * scheduler.init_noise_sigma
    step_kwargs = _step_kwargs(scheduler, generator)

    ex = request.excite
    thresholds = ex.threshold_map
    sizes = ae.step_sizes(ex.scale_factor, ex.scale_range, len(timesteps))

    # 6. Denoising loop.
    finite = _FiniteWatch()
    for i, t in enumerate(timesteps):
        if ex.enabled and (i < ex.max_iter_to_alter or i in thresholds):
            with native_convolutions(run.native_convs):  # the backward picks its kernels when it runs
                latents = _excite_step(run, latents, i, t, float(sizes[i]), thresholds.get(i))
        run.check_cancel()
        model_input = torch.cat([latents] * 2) if run.guidance_embeds.shape[0] == 2 else latents
        model_input = scheduler.scale_model_input(model_input, t)
        with torch.no_grad(), native_convolutions(run.native_convs):
            noise_pred = pipe.unet(model_input.to(dtype), t, encoder_hidden_states=run.guidance_embeds).sample
        noise_pred = noise_pred.float()  # guidance and the scheduler step run on fp32 latents
        if run.guidance_embeds.shape[0] == 2:
            uncond, text = noise_pred.chunk(2)
            noise_pred = uncond + request.guidance_scale * (text - uncond)
        output = scheduler.step(noise_pred, t, latents, **step_kwargs)
        latents = output.prev_sample.detach()
        finite.append(i, latents)
        preview = _preview(run, scheduler, output, model_input[-1:], noise_pred, t, i)
        run.emit(step=i + 1, phase="denoising", preview=preview)
    finite.check()

    # 7. Decode (VAE) and optional safety check.
    run.check_cancel()
    run.emit(step=run.total_steps, phase="decoding")
    run.stage = "decoding"
    image = _decode(pipe, latents)
    nsfw = False
    if getattr(pipe, "safety_checker", None) is not None:
        checked, flags = pipe.run_safety_checker(image, device, run.guidance_embeds.dtype)
        image, nsfw = checked, bool(flags and flags[0])
    pil = pipe.image_processor.postprocess(image, output_type="pil", do_denormalize=[not nsfw])[0]
    maps: dict[int, Any] = {}
    if run.last_maps:  # one copy to the host for all words
        maps = dict(zip(run.last_maps, torch.stack(list(run.last_maps.values())).float().cpu().numpy()))
    return ImageResult(pil, seed, request.for_image(image_index), maps, list(run.losses), nsfw,
                       type(scheduler).__name__)


def _step_kwargs(scheduler: Any, generator: torch.Generator) -> dict[str, Any]:
    params = set(inspect.signature(scheduler.step).parameters)
    kwargs: dict[str, Any] = {}
    if "eta" in params:
        kwargs["eta"] = 0.0
    if "generator" in params:
        kwargs["generator"] = generator
    return kwargs


def _decode(pipe: Any, latents: torch.Tensor) -> torch.Tensor:
    vae = pipe.vae
    with torch.no_grad():
        image = vae.decode(latents.to(vae.dtype) / vae.config.scaling_factor, return_dict=False)[0]
        if vae.dtype != torch.float32 and not torch.isfinite(image).all():
            # Half-precision VAEs can overflow (fp16's range) or lose a large activation (bf16's 8-bit
            # mantissa): decode this image in fp32 and keep the VAE upcast from now on.
            vae.to(torch.float32)
            image = vae.decode(latents.float() / vae.config.scaling_factor, return_dict=False)[0]
    return image


def _preview(run: _Run, scheduler: Any, output: Any, model_input: torch.Tensor, noise_pred: torch.Tensor,
             t: Any, i: int) -> Image.Image | None:
    """The preview for step i, if one is due and someone will show it (it costs a device read-back)."""
    decoded = run.decode_preview_every and (i + 1) % run.decode_preview_every == 0
    latent = run.preview_every and ((i + 1) % run.preview_every == 0 or i == run.total_steps - 1)
    if not (decoded or latent) or (run.preview_wanted is not None and not run.preview_wanted()):
        return None
    clean = predicted_clean_latent(scheduler, output, model_input, noise_pred, t)
    if not decoded:
        return latent_to_rgb(clean, run.model.family_spec)
    pipe = run.model.pipe
    return pipe.image_processor.postprocess(_decode(pipe, clean), output_type="pil")[0]


class _FiniteWatch:
    """Notices NaN/inf latents without making the host wait for the device on every step."""

    def __init__(self) -> None:
        self._flags: list[torch.Tensor] = []  # one 0-d bool per step, still on the device
        self._steps: list[int] = []

    def append(self, step: int, latents: torch.Tensor) -> None:
        self._flags.append(torch.isfinite(latents).all())
        self._steps.append(step)
        if len(self._flags) >= NAN_CHECK_EVERY:
            self.check()

    def check(self) -> None:
        """Raise NaNLatents naming the first bad step since the last check (one read-back)."""
        if not self._flags:
            return
        finite = torch.stack(self._flags).tolist()
        steps, self._flags, self._steps = self._steps, [], []
        for step, ok in zip(steps, finite):
            if not ok:
                raise NaNLatents(step)


# -- Attend-and-Excite ------------------------------------------------------------------------------
#
# Latents and gradients here are fp32 whatever the model's dtype. Each excite forward reads back
# once: the loss, the per-token maxima and (when the loss is scaled) whether the gradient is finite
# travel together, after the backward has been queued, so the device never idles waiting for the host
# in between.

def _excite_step(run: _Run, latents: torch.Tensor, i: int, t: Any, step_size: float,
                 threshold: float | None) -> torch.Tensor:
    """One excite step: loss, optional iterative refinement, gradient update. Returns detached latents."""
    ex = run.request.excite
    updates = i < ex.max_iter_to_alter
    # The first forward's gradient feeds the update, or the first refinement round; it is computed
    # before the read-back even at a threshold step past max_iter_to_alter, where it goes unused when
    # the loss is already low enough (a rare setup; one read-back per forward matters more).
    loss, grad = _excite_forward(run, latents, t, i, "exciting", want_grad=updates or threshold is not None)
    if threshold is not None and loss > 1.0 - threshold:
        latents, loss, grad = _refine(run, latents, loss, grad, t, i, step_size, threshold, updates)
    if updates and loss != 0:
        latents = latents - step_size * grad
    return latents


def _refine(run: _Run, latents: torch.Tensor, loss: float, grad: torch.Tensor | None, t: Any, i: int,
            step_size: float, threshold: float, final_grad: bool) -> tuple[torch.Tensor, float, torch.Tensor | None]:
    """Descend until every token's peak passes `threshold` (or the cap), then re-measure.

    The first round reuses the gradient of the forward that found the loss too high: it is the
    same latents, so a second forward would compute the same numbers again.
    """
    target = max(0.0, 1.0 - threshold)
    cap = run.request.excite.max_refinement_steps
    iteration = 0
    while loss > target:
        iteration += 1
        if iteration > 1:
            loss, grad = _excite_forward(run, latents, t, i, "refining", iteration)
        if loss != 0:
            latents = latents - step_size * grad
        if iteration >= cap:
            break
    loss, grad = _excite_forward(run, latents, t, i, "refining", iteration + 1, want_grad=final_grad)
    return latents, loss, grad


def _excite_forward(run: _Run, latents: torch.Tensor, t: Any, step: int, phase: str,
                    iteration: int | None = None, want_grad: bool = True) -> tuple[float, torch.Tensor | None]:
    """Measure the loss at `latents` (and its fp32 gradient when wanted); record and report it."""
    ex = run.request.excite
    indices = list(ex.token_indices)
    while True:
        run.check_cancel()
        leaf = latents.detach().float().requires_grad_(want_grad)
        # Without a gradient to take (a re-measure past max_iter_to_alter) no graph is kept.
        with torch.enable_grad() if want_grad else torch.no_grad():
            maps = _token_maps(run, leaf, t)
            maxima = ae.max_attention(maps, ex.smooth_attentions, ex.kernel_size, ex.sigma)
            loss = ae.excite_loss(maxima)
            grad = scale = None
            if want_grad:
                scale = run.loss_scale
                # fp16 gradients of tiny size flush to zero inside the UNet's backward; a scaled
                # loss keeps them representable (powers of two: scaling and unscaling are exact).
                (grad,) = torch.autograd.grad(loss * scale if scale != 1.0 else loss, [leaf])
                if scale != 1.0:
                    grad = grad / scale
        readback = [loss.detach().reshape(1), maxima.detach().float()]
        if scale is not None and scale != 1.0:
            readback.append(torch.isfinite(grad).all().float().reshape(1))
        values = torch.cat(readback).tolist()  # the one host synchronisation of this forward
        loss_value = values[0]
        overflowed = len(values) > len(indices) + 1 and values[-1] == 0.0
        if overflowed and math.isfinite(loss_value) and run.loss_scale > 1.0:
            # The scaled gradient overflowed fp16: measure again with a smaller scale, kept for later steps.
            run.loss_scale = max(1.0, run.loss_scale / LOSS_SCALE_BACKOFF)
            continue
        break
    if not math.isfinite(loss_value):
        raise NaNLatents(step)
    per_token = dict(zip(indices, values[1:1 + len(indices)]))
    run.losses.append(LossRecord(step, phase, loss_value, per_token))
    run.last_maps = dict(zip(indices, maps.detach()))
    run.emit(step=step, phase=phase, loss=loss_value, token_max_attention=per_token,
             refinement_iteration=iteration)
    return loss_value, grad


def _token_maps(run: _Run, latents: torch.Tensor, t: Any) -> torch.Tensor:
    """Truncated UNet forward with capture on; the chosen tokens' (k, h, w) maps, in fp32, with graph."""
    capture, pipe = run.capture, run.model.pipe
    assert capture is not None
    capture.begin()
    try:
        pipe.unet(latents.to(pipe.unet.dtype), t, encoder_hidden_states=run.cond_embeds)
    except StopForward:
        pass
    finally:
        capture.end()
    if capture.captured != capture.expected:
        raise EngineError("Attention capture saw fewer layers than expected; this UNet layout is not supported.")
    probs = ae.text_attention(capture.aggregate(), run.text_stop)
    return ae.token_maps(probs, list(run.request.excite.token_indices))


@contextmanager
def _translate_device_errors(model: LoadedModel, stage: Callable[[], str]) -> Iterator[None]:
    """Any device out-of-memory becomes OutOfMemory with advice for this device and these options."""
    try:
        yield
    except EngineError:
        raise
    except Exception as exc:
        if not memory_advice.is_out_of_memory(exc):
            raise
        memory_advice.free_device_memory(model.device)
        decoding = stage() == "decoding"
        keys = memory_advice.suggestions(model.device, model.options, model.dtype)
        if decoding and memory_advice.VAE_TILING in keys:  # the decoder's peak grows with the image: tiles first
            keys = (memory_advice.VAE_TILING, *(k for k in keys if k != memory_advice.VAE_TILING))
        raise OutOfMemory(model.device, "while decoding the image" if decoding else "while generating", keys) from exc
