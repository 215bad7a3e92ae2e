"""Structural guarantees behind the speed-up (counted, not timed)."""
from __future__ import annotations

from aae_desktop.engine.run.attention import CapturingCrossAttnProcessor, cross_attention_grids
from aae_desktop.engine.run.generate import generate
from tests.engine.helpers import small_request


def _count_calls(module, store, key):
    return module.register_forward_pre_hook(lambda *a: store.__setitem__(key, store.get(key, 0) + 1))


def test_gradient_forward_only_on_steps_that_can_change_latents_and_stops_after_last_read_layer(tiny_model):
    unet = tiny_model.pipe.unet
    counts = {}
    hooks = [_count_calls(unet, counts, "unet"), _count_calls(unet.up_blocks[2], counts, "after_last_map"),
             _count_calls(unet.conv_out, counts, "conv_out")]
    # 6 steps (PNDM: 7 timesteps); excite steps 0-1, threshold step 4 passes only if the loss is low.
    request = small_request(excite={"max_iter_to_alter": 2, "thresholds": ((4, 0.01),)})
    try:
        generate(tiny_model, request)
    finally:
        for h in hooks:
            h.remove()
    guidance_forwards = 7
    grad_forwards = counts["unet"] - guidance_forwards
    assert grad_forwards == 3  # steps 0, 1 and the threshold step 4; none on steps 2, 3, 5, 6
    # Blocks after the last layer the loss reads only run in guidance forwards.
    assert counts["after_last_map"] == guidance_forwards
    assert counts["conv_out"] == guidance_forwards


def test_explicit_attention_only_in_cross_attention_layers_at_the_loss_grid(tiny_model):
    unet = tiny_model.pipe.unet
    seen = {}
    original_call = CapturingCrossAttnProcessor.__call__

    def spy(self, attn, hidden_states, *args, **kwargs):
        seen.setdefault(hidden_states.shape[1], set()).add(self.state.active)
        return original_call(self, attn, hidden_states, *args, **kwargs)

    CapturingCrossAttnProcessor.__call__ = spy
    try:
        generate(tiny_model, small_request(steps=2, excite={"thresholds": (), "max_iter_to_alter": 1}))
    finally:
        CapturingCrossAttnProcessor.__call__ = original_call
    assert set(seen) == {16}  # only 4x4 layers (of 16x16, 8x8, 4x4, 2x2) ever get our processor
    grids = cross_attention_grids(unet, 16, 16)
    assert sorted(name for name, (g, _) in grids.items() if g == (4, 4)) == [
        "down_blocks.2.attentions.0.transformer_blocks.0.attn2.processor",
        "up_blocks.1.attentions.0.transformer_blocks.0.attn2.processor",
        "up_blocks.1.attentions.1.transformer_blocks.0.attn2.processor",
    ]
    assert all(type(p).__name__ == "AttnProcessor2_0" for p in unet.attn_processors.values())


def test_static_grids_match_what_the_unet_really_sees(tiny_model):
    unet = tiny_model.pipe.unet
    predicted = cross_attention_grids(unet, 16, 24)
    observed = {}
    hooks = []
    for name, module in unet.named_modules():
        if name.endswith("attn2"):
            hooks.append(module.register_forward_pre_hook(
                lambda m, args, kwargs, name=name: observed.__setitem__(name, args[0].shape[1]),
                with_kwargs=True))
    try:
        generate(tiny_model, small_request(width=192, height=128, steps=1, excite={"enabled": False}))
    finally:
        for h in hooks:
            h.remove()
    for proc_name, ((h, w), _) in predicted.items():
        assert observed[proc_name.removesuffix(".processor")] == h * w
