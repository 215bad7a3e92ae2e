"""Boxes in the generation loop: the same image as a plain BoxDiff reference written here from the
paper's formulas (explicit attention, a full forward per step), the boxed words' attention moving
into their boxes, and the schedule with and without exciting."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from diffusers.utils.torch_utils import randn_tensor

from aae_desktop.engine.objectives.box_settings import BoxSettings
from aae_desktop.engine.errors import InvalidRequest
from aae_desktop.engine.run.generate import generate
from tests.engine.helpers import small_request
from tests.engine.test_exactness import _grid, models, reference_maps  # noqa: F401 - models is a fixture

PROMPT = "a red cat and a blue frog"  # red 2, cat 3, blue 6, frog 7; end-of-text 8
EOT = 8
BOXES = (((3,), (0.0, 0.0, 0.5, 1.0)), ((7,), (0.5, 0.0, 1.0, 1.0)))  # cat left, frog right


def _request(scale, **changes):
    return small_request(prompt=PROMPT, excite={"enabled": False},
                         boxes=BoxSettings(True, BOXES, scale=scale, prompt_length=EOT), **changes)


def _pixels(result):
    return np.asarray(result.images[0].image).astype(int)


def _paper_box_loss(maps):
    """BoxDiff's loss from the paper's formulas (P 0.2, L 1), on maps (h, w, text) of a full forward."""
    text = torch.softmax(100 * maps[:, :, 1:EOT], dim=-1)
    g = torch.exp(-((torch.tensor([-1.0, 0.0, 1.0]) / (2 * 0.5)) ** 2))
    kernel = g[:, None] * g[None, :] / (g[:, None] * g[None, :]).sum()
    loss = 0
    for (token,), (bx0, by0, bx1, by1) in BOXES:
        a = F.conv2d(F.pad(text[:, :, token - 1][None, None], (1, 1, 1, 1), mode="reflect"), kernel[None, None])[0, 0]
        h, w = a.shape
        x0, x1 = (min(max(round(v * w), 0), w) for v in (bx0, bx1))
        y0, y1 = (min(max(round(v * h), 0), h) for v in (by0, by1))
        inside = torch.zeros(h, w)
        inside[y0:y1, x0:x1] = 1
        fg = (a * inside).flatten().topk(int(inside.sum() * 0.2)).values.mean()
        bg = (a * (1 - inside)).flatten().topk(int((1 - inside).sum() * 0.2)).values.mean()
        loss = loss + torch.clamp(1 - fg, min=0) + torch.clamp(bg, min=0)
        for peaks, projection, start, end in ((a.amax(0), inside.amax(0), x0, x1), (a.amax(1), inside.amax(1), y0, y1)):
            band = torch.zeros_like(projection)
            band[max(start - 1, 0):start + 2] = 1
            band[max(end - 1, 0):end + 2] = 1
            loss = loss + ((peaks - projection).abs() * band).mean()
    return loss


def _reference_image(model, request):
    """Stable Diffusion with BoxDiff's update before each of the first half of the steps."""
    pipe = model.pipe
    scheduler = type(pipe.scheduler).from_config(pipe.scheduler.config)
    scheduler.set_timesteps(request.steps)
    with torch.no_grad():
        text, uncond = pipe.encode_prompt(request.prompt, torch.device("cpu"), 1, True)
    generator = torch.Generator("cpu").manual_seed(request.seed)
    latents = randn_tensor((1, 4, request.height // 8, request.width // 8), generator=generator) * scheduler.init_noise_sigma
    sizes = request.boxes.scale * np.sqrt(np.linspace(1.0, 0.5, len(scheduler.timesteps)))
    grid = (request.height // 32, request.width // 32)
    for i, t in enumerate(scheduler.timesteps):
        if i < request.steps // 2:
            x = latents.clone().requires_grad_(True)
            with torch.enable_grad():
                loss = _paper_box_loss(reference_maps(pipe.unet, x, t, {"encoder_hidden_states": text}, grid))
                (grad,) = torch.autograd.grad(loss, [x])
            latents = (x - sizes[i] * grad).detach()
        with torch.no_grad():
            noise = pipe.unet(torch.cat([latents] * 2), t, encoder_hidden_states=torch.cat([uncond, text])).sample
        noise_uncond, noise_text = noise.chunk(2)
        latents = scheduler.step(noise_uncond + request.guidance_scale * (noise_text - noise_uncond), t, latents).prev_sample
    with torch.no_grad():
        image = pipe.vae.decode(latents / pipe.vae.config.scaling_factor).sample
    return np.asarray(pipe.image_processor.postprocess(image, output_type="pil")[0]).astype(int)


def test_same_image_as_the_paper_formulas_and_boxes_move_it_far_more(tiny_model):
    # The random model's attention barely responds at the pipeline's 20 (7/255), so the test runs at 200.
    request = _request(200.0)
    ours = _pixels(generate(tiny_model, request))
    plain = _pixels(generate(tiny_model, request.replace(boxes=BoxSettings())))
    theirs = _reference_image(tiny_model, request)
    moved, off = int(np.abs(ours - plain).max()), int(np.abs(ours - theirs).max())
    assert moved > 8, f"boxes moved the image only {moved}/255"
    assert off <= 1, f"{off}/255 from the reference"


def test_the_words_attention_moves_into_their_boxes(tiny_model):
    """Scale 0 is the same run without boxes (bit for bit) that still measures the maps."""
    unboxed = generate(tiny_model, _request(0.0)).images[0]
    boxed = generate(tiny_model, _request(200.0)).images[0]
    assert np.array_equal(np.asarray(unboxed.image),
                          np.asarray(generate(tiny_model, _request(0.0).replace(boxes=BoxSettings())).images[0].image))

    def inside(result, token, x0, x1):
        a = result.attention_maps[token]
        return float(a[:, x0:x1].sum() / a.sum())

    w = boxed.attention_maps[3].shape[1]
    assert inside(boxed, 3, 0, w // 2) > inside(unboxed, 3, 0, w // 2) + 0.02  # measured 0.480 -> 0.516
    assert inside(boxed, 7, w // 2, w) > inside(unboxed, 7, w // 2, w)


def test_boxes_alone_update_the_first_half_and_with_exciting_the_losses_add(tiny_model):
    events = []
    generate(tiny_model, _request(20.0), on_step=events.append)
    assert sorted({e.step for e in events if e.phase == "boxes"}) == [0, 1, 2]  # 6 steps: the first half
    assert not [e for e in events if e.phase in ("exciting", "refining", "binding")]
    excite = small_request(prompt=PROMPT, excite={"token_indices": (3, 7)})
    events = []
    both = generate(tiny_model, excite.replace(boxes=_request(20.0).boxes), on_step=events.append)
    assert not [e for e in events if e.phase == "boxes"]  # the excite schedule rules
    assert not np.array_equal(_pixels(both), _pixels(generate(tiny_model, excite)))
    assert {3, 7} <= set(both.images[0].attention_maps)


def test_a_box_smaller_than_a_cell_of_the_loss_grid_is_refused_before_the_run(tiny_model):
    thin = BoxSettings(True, (((3,), (0.0, 0.0, 0.1, 1.0)),), prompt_length=EOT)  # 128 px: a 4 x 4 grid
    with pytest.raises(InvalidRequest, match="smaller than one cell of the 4 x 4 attention grid"):
        generate(tiny_model, small_request(prompt=PROMPT, excite={"enabled": False}, boxes=thin))


@pytest.mark.parametrize("family", ["sd1", "sd2", "sdxl"])
def test_boxes_work_on_every_family_at_its_loss_level(models, family):
    model = models[family]
    request = _request(200.0)
    boxed = generate(model, request).images[0]
    plain = generate(model, request.replace(boxes=BoxSettings())).images[0]
    assert np.abs(np.asarray(boxed.image).astype(int) - np.asarray(plain.image).astype(int)).max() > 1
    assert boxed.attention_maps[3].shape == _grid(request.height // 8, request.width // 8)  # 4 x 4 at 128 px
