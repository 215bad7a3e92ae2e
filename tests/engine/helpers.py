"""Small builders shared by the engine tests."""
from __future__ import annotations

import torch

from aae_desktop.engine.request import ExciteSettings, GenerationRequest


def small_request(**changes) -> GenerationRequest:
    """A quick request for the tiny model: 128 px, 6 steps, refinement at steps 0 and 2.

    Refinement is capped at 4 to keep tests quick (parity tests raise it to the reference's 20).
    """
    excite = dict(token_indices=(2, 5), max_iter_to_alter=3, thresholds=((0, 0.05), (2, 0.5)),
                  max_refinement_steps=4)
    excite.update(changes.pop("excite", {}))
    base = dict(model="tiny-random", prompt="a cat and a frog", seed=7, steps=6, width=128, height=128,
                excite=ExciteSettings(**excite))
    base.update(changes)
    return GenerationRequest(**base)


def same_weights(a, b) -> bool:
    """Two modules hold exactly the same tensors under the same names."""
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
