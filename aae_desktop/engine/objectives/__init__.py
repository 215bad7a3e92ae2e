"""Attention objectives: one module each, registered in registry.py, summed by the loop
(engine/run/excite_step.py); their settings (excite_settings.py, bind_settings.py, box_settings.py)
are plain values the request holds, importable without torch.

A new way of steering attention is one new module with a kind (`name`, `from_request`) added to
registry.KINDS; the exactness test then covers it (tests/engine/test_objective_exactness.py).
"""
