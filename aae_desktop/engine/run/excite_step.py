"""One Attend-and-Excite step: the truncated loss forward, iterative refinement, the latent update.

The update is taken where the UNet reads the latents: input <- input - step_size * dL/d(input),
as in the paper (z' = z - alpha * grad L on the UNet's latent) whose step sizes and thresholds were
tuned on DDIM/PNDM, where input and latents are the same. Sigma-based samplers feed the UNet
latents / c with c = sqrt(sigma^2 + 1), so on the latents the same update is
latents <- latents - step_size * c^2 * dL/d(latents); without the c^2 it would reach the UNet at
1/c^2 of the paper's strength (1/214 at the first of 50 Euler steps).

Latents and gradients here are fp32 whatever the model's dtype. Each excite forward reads back
once: the loss, the per-token maxima and (when the loss is scaled) whether the gradient is finite
travel together, after the backward has been queued, so the device never idles waiting for the host
in between.
"""
from __future__ import annotations

import math
from typing import Any

import torch

from aae_desktop.engine.run.attention import CaptureState, StopForward
from aae_desktop.engine.errors import EngineError, NaNLatents
from aae_desktop.engine.events import LossRecord
from aae_desktop.engine.objectives.registry import AttentionMaps, ExciteObjective
from aae_desktop.engine.run.run_state import RunState

# fp16 loss scaling: start where the excite gradients of SD-sized UNets stay clear of fp16's
# subnormals, and divide on an overflow (rare; that forward is measured again).
FP16_LOSS_SCALE = 2.0 ** 12
LOSS_SCALE_BACKOFF = 2.0 ** 4


def excite_step(run: RunState, scheduler: Any, latents: torch.Tensor, i: int, t: Any, step_size: float,
                 threshold: float | None) -> torch.Tensor:
    """One excite step: loss, optional iterative refinement, gradient update. Returns detached latents."""
    ex = run.request.excite
    updates = i < ex.max_iter_to_alter
    step_size = step_size * input_space_factor(scheduler, t)
    # The first forward's gradient feeds the update, or the first refinement round; it is computed
    # before the read-back even at a threshold step past max_iter_to_alter, where it goes unused when
    # the loss is already low enough (a rare setup; one read-back per forward matters more).
    loss, grad = _excite_forward(run, scheduler, latents, t, i, "exciting",
                                 want_grad=updates or threshold is not None)
    if threshold is not None and loss > 1.0 - threshold:
        latents, loss, grad = _refine(run, scheduler, latents, loss, grad, t, i, step_size, threshold, updates)
    if updates and loss != 0:
        latents = latents - step_size * grad
    return latents


def bind_step(run: RunState, scheduler: Any, latents: torch.Tensor, i: int, t: Any, step_size: float,
              phase: str = "binding") -> torch.Tensor:
    """Binding alone (no word excited): one forward and one update at a constant step, no refinement,
    as the released SynGen implementation runs it (on the UNet's input, see input_space_factor).
    Boxes without exciting take the same step ("boxes"), at the excite schedule's step size."""
    step_size = step_size * input_space_factor(scheduler, t)
    loss, grad = _excite_forward(run, scheduler, latents, t, i, phase)
    if loss != 0:
        latents = latents - step_size * grad
    return latents


def input_space_factor(scheduler: Any, t: Any) -> float | torch.Tensor:
    """c^2 for this step: turns a step on the UNet's input into the same step on the latents.

    diffusers' scale_model_input multiplies by one number per step: 1 for DDIM, PNDM and the DPM
    solvers (they hand the sample back as it is, and so does this: a plain 1.0 keeps their images
    bit-equal to the reference), 1 / sqrt(sigma^2 + 1) for Euler, Euler a and LMS. It is read from
    the scheduler on a 0-d host tensor and stays one: a host scalar scales device tensors with no
    read-back.
    """
    probe = torch.ones((), dtype=torch.float32)
    scaled = scheduler.scale_model_input(probe, t)
    if scaled is probe:
        return 1.0
    return 1.0 / (scaled * scaled)


def _refine(run: RunState, scheduler: Any, latents: torch.Tensor, loss: float, grad: torch.Tensor | None, t: Any,
            i: int, step_size: float | torch.Tensor, threshold: float, final_grad: bool) -> tuple[torch.Tensor, float, torch.Tensor | None]:
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
            loss, grad = _excite_forward(run, scheduler, latents, t, i, "refining", iteration)
        if loss != 0:
            latents = latents - step_size * grad
        if iteration >= cap:
            break
    loss, grad = _excite_forward(run, scheduler, latents, t, i, "refining", iteration + 1, want_grad=final_grad)
    return latents, loss, grad


def _excite_forward(run: RunState, scheduler: Any, latents: torch.Tensor, t: Any, step: int, phase: str,
                    iteration: int | None = None, want_grad: bool = True) -> tuple[float, torch.Tensor | None]:
    """Measure the summed objectives' loss at `latents` (and its fp32 gradient when wanted); record and report it.

    The UNet sees the latents scaled as in the guidance forward: identity for PNDM and DDIM (so
    the image matches the SD reference, which never scales), 1/sqrt(sigma^2 + 1) for the
    sigma-based schedulers (Euler, SDXL's default), whose unscaled latents the UNet never saw in training.
    """
    objectives = run.objectives
    while True:
        run.check_cancel()
        leaf = latents.detach().float().requires_grad_(want_grad)
        # Without a gradient to take (a re-measure past max_iter_to_alter) no graph is kept.
        with torch.enable_grad() if want_grad else torch.no_grad():
            assert run.capture is not None
            maps = attention_maps_at(run.model.pipe.unet, scheduler.scale_model_input(leaf, t), t,
                                     run.conditioning.excite, run.capture, run.text_stop)
            results = [objective.loss(maps) for objective in objectives]
            loss = results[0].loss
            for result in results[1:]:
                loss = loss + result.loss
            grad = scale = None
            if want_grad:
                scale = run.loss_scale
                # fp16 gradients of tiny size flush to zero inside the UNet's backward; a scaled
                # loss keeps them representable (powers of two: scaling and unscaling are exact).
                (grad,) = torch.autograd.grad(loss * scale if scale != 1.0 else loss, [leaf])
                if scale != 1.0:
                    grad = grad / scale
        readback = [loss.detach().reshape(1), *(result.readout for result in results)]
        counted = sum(result.readout.numel() for result in results) + 1
        if scale is not None and scale != 1.0:
            readback.append(torch.isfinite(grad).all().float().reshape(1))
        values = torch.cat(readback).tolist()  # the one host synchronisation of this forward
        loss_value = values[0]
        overflowed = len(values) > counted and values[-1] == 0.0
        if overflowed and math.isfinite(loss_value) and run.loss_scale > 1.0:
            # The scaled gradient overflowed fp16: measure again with a smaller scale, kept for later steps.
            run.loss_scale = max(1.0, run.loss_scale / LOSS_SCALE_BACKOFF)
            continue
        break
    if not math.isfinite(loss_value):
        raise NaNLatents(step)
    # The excite objective's readout (each word's peak) is what events and the loss history show.
    exciting = bool(objectives) and isinstance(objectives[0], ExciteObjective)
    indices = list(run.request.excite.token_indices) if exciting else []
    per_token = dict(zip(indices, values[1:1 + len(indices)]))
    run.losses.append(LossRecord(step, phase, loss_value, per_token))
    if per_token and len(objectives) > 1:
        # Thresholds and refinement judge the excite part alone: the other objectives' losses (binding's
        # is negative) ride along in the gradient, not in the peaks' test. Excite-only runs keep the
        # summed value as it was, bit for bit.
        gate_value = max(0.0, *(1.0 - peak for peak in per_token.values()))
    else:
        gate_value = loss_value
    # The heat maps show every word an objective steers: the excited words, the bound and the boxed ones.
    request = run.request
    shown = list(dict.fromkeys([*indices, *(request.bind.all_tokens() if request.bind.active else ()),
                                *(request.boxes.all_tokens() if request.boxes.active else ())]))
    run.last_maps = dict(zip(shown, maps.token_maps(shown).detach())) if shown else {}
    run.emit(step=step, phase=phase, loss=loss_value, token_max_attention=per_token,
             refinement_iteration=iteration)
    return gate_value, grad


def attention_maps_at(unet: Any, model_input: torch.Tensor, t: Any, unet_kwargs: dict[str, Any],
                      capture: CaptureState, text_stop: int | None) -> AttentionMaps:
    """Truncated UNet forward with capture on: the loss level's maps, in fp32, with graph.

    The forward stops right after the last layer any objective reads (StopForward); `unet_kwargs` is
    the family's excite conditioning (text states, and for SDXL the pooled text and size ids).
    """
    capture.begin()
    try:
        unet(model_input.to(unet.dtype), t, **unet_kwargs)
    except StopForward:
        pass
    finally:
        capture.end()
    if capture.captured != capture.expected:
        raise EngineError("Attention capture saw fewer layers than expected; this UNet layout is not supported.")
    return AttentionMaps(capture.aggregate(), text_stop)


def token_maps_at(unet: Any, model_input: torch.Tensor, t: Any, unet_kwargs: dict[str, Any], capture: CaptureState,
                  token_indices: tuple[int, ...], text_stop: int | None) -> torch.Tensor:
    """The chosen tokens' (k, h, w) maps from one truncated forward (see attention_maps_at)."""
    return attention_maps_at(unet, model_input, t, unet_kwargs, capture, text_stop).token_maps(token_indices)
