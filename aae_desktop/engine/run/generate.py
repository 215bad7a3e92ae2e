"""The denoising loop: Attend-and-Excite steps, guidance, previews, cancel, decoding."""
from __future__ import annotations

import inspect
import threading
import time
from contextlib import contextmanager, nullcontext
from typing import Any, Callable, ContextManager, Iterator

import torch
from diffusers.utils.torch_utils import randn_tensor
from PIL import Image

from aae_desktop.engine.run import excite_maths as ae
from aae_desktop.engine.run import memory_advice
from aae_desktop.engine.addons.addon_loading import prepare_addons
from aae_desktop.engine.run.attention import CaptureState, attention_capture, default_loss_grid
from aae_desktop.engine.objectives.box_settings import box_grid_problem
from aae_desktop.engine.run.conditioning import encode_conditioning, execution_device
from aae_desktop.engine.run.cpu_kernels import native_convolutions, prefers_native_convolutions
from aae_desktop.engine.errors import EngineError, GenerationCancelled, InvalidRequest, NaNLatents, OutOfMemory
from aae_desktop.engine.events import GenerationResult, ImageCallback, ImageResult, StepCallback
from aae_desktop.engine.run.excite_step import FP16_LOSS_SCALE, bind_step, excite_step
from aae_desktop.engine.run.memory_estimate import check_fits
from aae_desktop.engine.models.loading import LoadedModel
from aae_desktop.engine.objectives.registry import active_objectives
from aae_desktop.engine.run.preview import latent_to_rgb, predicted_clean_latent
from aae_desktop.engine.request import GenerationRequest
from aae_desktop.engine.run.run_state import RunState, check_cancel
from aae_desktop.engine.run.schedulers import diffusers_class_name, make_scheduler
from aae_desktop.engine.tokens import tokenize_request

# Checking the latents for NaN makes the host wait for the device; every few steps is enough to stop
# a broken run early, and the last step is always checked.
NAN_CHECK_EVERY = 8


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
    # From here on the schedule is numbers: what runs is what the result (and so the PNG) records.
    request = request.resolved()
    started = time.perf_counter()
    run: RunState | None = None
    with _translate_device_errors(model, lambda: run.stage if run is not None else "encoding"):
        # 2. The request's LoRAs and embeddings on the model (each file checked first), then the
        #    prompts encoded once for the whole batch.
        check_cancel(cancel)
        embedding_tokens = prepare_addons(model, request)
        conditioning = encode_conditioning(model, request, embedding_tokens)
        run = RunState(model, request, on_step, cancel, max(preview_every, 0), max(decode_preview_every, 0),
                       preview_wanted, started, conditioning)
        if pipe.unet.dtype == torch.float16:
            run.loss_scale = FP16_LOSS_SCALE
        run.check_cancel()  # a cancel during the setup acts before the first UNet call
        latent_h, latent_w = request.height // pipe.vae_scale_factor, request.width // pipe.vae_scale_factor
        run.native_convs = prefers_native_convolutions(model.device, pipe.unet.dtype, latent_h, latent_w)
        images: list[ImageResult] = []
        capturing: ContextManager[CaptureState | None] = nullcontext(None)
        run.objectives = active_objectives(request)
        if run.objectives:
            stop_at_eot = request.excite.softmax_stop_at_eot
            if stop_at_eot is None:
                stop_at_eot = model.family_spec.softmax_stop_at_eot
            if stop_at_eot:
                run.text_stop = tokenize_request(pipe.tokenizer, request).eot_index
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


def _check_model_limits(model: LoadedModel, request: GenerationRequest) -> None:
    trained = getattr(model.pipe.scheduler.config, "num_train_timesteps", None)
    if trained and request.steps > trained:
        raise InvalidRequest(f"{{field}} must be at most {trained}, the number of noise levels this model was "
                             f"trained with (got {request.steps}).", "steps")
    check_fits(model, request)
    if request.boxes.active:  # a box must cover a cell of the grid the loss reads, which the UNet decides
        pipe = model.pipe
        grid = request.excite.attn_res or default_loss_grid(pipe.unet, request.height // pipe.vae_scale_factor,
                                                            request.width // pipe.vae_scale_factor,
                                                            model.family_spec.loss_level)
        if problem := box_grid_problem(request.boxes, (grid[0], grid[1])):
            raise InvalidRequest(problem, "boxes")


def _render_one(run: RunState, image_index: int) -> ImageResult:
    pipe, request = run.model.pipe, run.request
    device = execution_device(pipe)
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
    step_kwargs = _step_kwargs(scheduler, generator, request.eta)

    ex = request.excite
    thresholds = ex.threshold_map
    sizes = ae.step_sizes(ex.scale_factor, ex.scale_range, len(timesteps))
    # Boxes without exciting: BoxDiff's schedule, the excite step sizes at the box scale, no refinement.
    box_sizes = ae.step_sizes(request.boxes.scale, ex.scale_range, len(timesteps))

    # 6. Denoising loop.
    finite = _FiniteWatch()
    # Binding alone runs SynGen's schedule: the first half of the steps, constant step, no refinement.
    # Boxes without exciting run theirs (binding's loss, if any, adds); with exciting, the excite schedule.
    names = {o.name for o in run.objectives}
    boxes_lead = "excite" not in names and "boxes" in names
    bind_only = bool(run.objectives) and "excite" not in names and not boxes_lead
    for i, t in enumerate(timesteps):
        # Counted on the step count, as the excite schedule is (PNDM's timesteps hold one step more).
        if boxes_lead and i < request.boxes.steps_for(request.steps):
            with native_convolutions(run.native_convs):
                latents = bind_step(run, scheduler, latents, i, t, float(box_sizes[i]), phase="boxes")
        elif bind_only and i < request.bind.steps_for(request.steps):  # the steps asked for, as boxes and exciting count them
            with native_convolutions(run.native_convs):
                latents = bind_step(run, scheduler, latents, i, t, float(request.bind.scale))
        elif "excite" in names and (i < ex.max_iter_to_alter or i in thresholds):
            with native_convolutions(run.native_convs):  # the backward picks its kernels when it runs
                latents = excite_step(run, scheduler, latents, i, t, float(sizes[i]), thresholds.get(i))
        run.check_cancel()
        guided = run.conditioning.guided
        model_input = torch.cat([latents] * 2) if guided else latents
        model_input = scheduler.scale_model_input(model_input, t)
        with torch.no_grad(), native_convolutions(run.native_convs):
            noise_pred = pipe.unet(model_input.to(dtype), t, **run.conditioning.guidance).sample
        noise_pred = noise_pred.float()  # guidance and the scheduler step run on fp32 latents
        if guided:
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
        checked, flags = pipe.run_safety_checker(image, device, run.conditioning.prompt_embeds.dtype)
        image, nsfw = checked, bool(flags and flags[0])
    pil = pipe.image_processor.postprocess(image, output_type="pil", do_denormalize=[not nsfw])[0]
    maps: dict[int, Any] = {}
    if run.last_maps:  # one copy to the host for all words
        maps = dict(zip(run.last_maps, torch.stack(list(run.last_maps.values())).float().cpu().numpy()))
    return ImageResult(pil, seed, request.for_image(image_index), maps, list(run.losses), nsfw,
                       diffusers_class_name(scheduler), run.model.family)


def _step_kwargs(scheduler: Any, generator: torch.Generator, eta: float | None) -> dict[str, Any]:
    params = set(inspect.signature(scheduler.step).parameters)
    kwargs: dict[str, Any] = {}
    if "eta" in params and eta is not None:  # unset: the sampler's own default (request.ETA_DEFAULTS)
        kwargs["eta"] = eta
    if "generator" in params:
        kwargs["generator"] = generator
    return kwargs


def _decode(pipe: Any, latents: torch.Tensor) -> torch.Tensor:
    """VAE decode. Families whose VAE asks for it are already upcast at load (models.wrap_pipeline)."""
    vae = pipe.vae
    with torch.no_grad():
        image = vae.decode(_unscale(vae, latents.to(vae.dtype)), return_dict=False)[0]
        if vae.dtype != torch.float32 and not torch.isfinite(image).all():
            # Half-precision VAEs can overflow (fp16's range) or lose a large activation (bf16's 8-bit
            # mantissa): decode this image in fp32 and keep the VAE upcast from now on.
            vae.to(torch.float32)
            image = vae.decode(_unscale(vae, latents.float()), return_dict=False)[0]
    return image


def _unscale(vae: Any, latents: torch.Tensor) -> torch.Tensor:
    """Diffusion latents -> VAE latents: undo the scaling factor (and the per-channel normalisation
    that some VAE configs declare with latents_mean / latents_std)."""
    mean, std = getattr(vae.config, "latents_mean", None), getattr(vae.config, "latents_std", None)
    if mean is not None and std is not None:
        mean = torch.tensor(mean, device=latents.device, dtype=latents.dtype).view(1, -1, 1, 1)
        std = torch.tensor(std, device=latents.device, dtype=latents.dtype).view(1, -1, 1, 1)
        return latents * std / vae.config.scaling_factor + mean
    return latents / vae.config.scaling_factor


def _preview(run: RunState, scheduler: Any, output: Any, model_input: torch.Tensor, noise_pred: torch.Tensor,
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
