"""The sampler table, pinned by hand: each sampler the app offers, the name A1111 text gets, and the
diffusers scheduler (class and the options that make it that sampler) the engine must build.

Written out here rather than read from the engine's tables, so a wrong entry there shows. The
expected schedulers are built with diffusers directly. Each sampler is built both from SD 1.x's
own PNDM config and from the config of a fine-tune that ships a different sampler (DPM++ SDE Karras,
third order, v-prediction): the sampler's own options must not leak in from the model's, while
the model's noise schedule (betas, prediction type, spacing, offset) must.
"""
from __future__ import annotations

import inspect

import diffusers
import pytest
import torch

from aae_desktop.engine.request import SCHEDULER_LABELS, SCHEDULERS, GenerationRequest
from aae_desktop.engine.run.schedulers import diffusers_class_name, make_scheduler
from aae_desktop.gallery.a1111 import format_parameters, request_from_parameters

_PLAIN_SIGMAS = {"use_karras_sigmas": False, "use_exponential_sigmas": False, "use_beta_sigmas": False}

# key: (label in the window, A1111 "Sampler", A1111 "Schedule type", diffusers class, options it must have)
TABLE = {
    "ddim": ("DDIM", "DDIM", None, "DDIMScheduler", {"clip_sample": False}),  # SD's DDIM never clips x0
    "pndm": ("PNDM", "PLMS", None, "PNDMScheduler", {"skip_prk_steps": True}),
    "lms": ("LMS", "LMS", None, "LMSDiscreteScheduler", _PLAIN_SIGMAS),
    "euler": ("Euler", "Euler", None, "EulerDiscreteScheduler", _PLAIN_SIGMAS),
    "euler_a": ("Euler a", "Euler a", None, "EulerAncestralDiscreteScheduler", {}),
    "dpmpp_2m_karras": ("DPM++ 2M Karras", "DPM++ 2M", "Karras", "DPMSolverMultistepScheduler",
                        {"use_karras_sigmas": True, "use_exponential_sigmas": False, "use_beta_sigmas": False,
                         "algorithm_type": "dpmsolver++", "solver_order": 2, "euler_at_final": False}),
}
# "Model default" runs the model's own scheduler as configured; A1111 text names it by its class.
DEFAULT_BY_CLASS = {"DDIMScheduler": "DDIM", "PNDMScheduler": "PLMS", "LMSDiscreteScheduler": "LMS",
                    "EulerDiscreteScheduler": "Euler", "EulerAncestralDiscreteScheduler": "Euler a"}

# What a sampler takes over from the model: its noise schedule.
NOISE_SCHEDULE = ("num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "trained_betas",
                  "prediction_type", "timestep_spacing", "steps_offset", "set_alpha_to_one")

SD1_PNDM = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000,
                set_alpha_to_one=False, skip_prk_steps=True, steps_offset=1, clip_sample=False,
                prediction_type="epsilon", timestep_spacing="leading")
FINE_TUNE_DPM_SDE = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000,
                         steps_offset=1, prediction_type="v_prediction", timestep_spacing="trailing",
                         use_karras_sigmas=True, algorithm_type="sde-dpmsolver++", solver_order=3,
                         euler_at_final=True)
MODEL_SCHEDULERS = {"sd1-pndm": ("PNDMScheduler", SD1_PNDM),
                    "fine-tune-dpm-sde-karras": ("DPMSolverMultistepScheduler", FINE_TUNE_DPM_SDE)}


def _model_scheduler(which: str):
    """The model's scheduler as a folder loads it (from_config keeps keys its class does not take)."""
    class_name, config = MODEL_SCHEDULERS[which]
    return getattr(diffusers, class_name).from_config(config)


def _options(config) -> dict:
    return {k: v for k, v in dict(config).items() if not k.startswith("_")}  # "_..." is diffusers' bookkeeping


def _expected(class_name: str, options: dict, model_config: dict):
    """The scheduler built with diffusers alone: the model's noise schedule plus the sampler's options."""
    cls = getattr(diffusers, class_name)
    accepted = set(inspect.signature(cls.__init__).parameters)
    schedule = {k: model_config[k] for k in NOISE_SCHEDULE if k in model_config and k in accepted}
    return cls(**schedule, **options)


def test_the_app_offers_exactly_these_samplers_with_these_labels():
    assert set(SCHEDULERS) == set(TABLE) | {"default"}
    assert {key: SCHEDULER_LABELS[key] for key in TABLE} == {key: row[0] for key, row in TABLE.items()}
    assert SCHEDULER_LABELS["default"] == "Model default"


@pytest.mark.parametrize("model", sorted(MODEL_SCHEDULERS))
@pytest.mark.parametrize("key", sorted(TABLE))
def test_each_sampler_is_the_diffusers_scheduler_it_names(key, model):
    _label, _a1111, _schedule, class_name, options = TABLE[key]
    base = _model_scheduler(model)
    ours = make_scheduler(base, key)
    assert isinstance(ours, getattr(diffusers, class_name)) and diffusers_class_name(ours) == class_name
    expected = _expected(class_name, options, dict(base.config))
    # Every option of the expected scheduler, the sampler's and diffusers' defaults alike.
    differing = {k: (ours.config.get(k), v) for k, v in _options(expected.config).items() if ours.config.get(k) != v}
    assert differing == {}, f"(ours, expected) per option: {differing}"
    for scheduler in (ours, expected):
        scheduler.set_timesteps(20)
    assert torch.equal(ours.timesteps, expected.timesteps)
    if hasattr(expected, "sigmas"):
        assert torch.equal(ours.sigmas, expected.sigmas)


@pytest.mark.parametrize("model", sorted(MODEL_SCHEDULERS))
def test_model_default_is_the_model_scheduler_unchanged(model):
    base = _model_scheduler(model)
    ours = make_scheduler(base, "default")
    assert type(ours) is type(base) and _options(ours.config) == _options(base.config) and ours is not base


def _request(scheduler: str) -> GenerationRequest:
    return GenerationRequest(model="m", prompt="a cat and a frog", seed=1, steps=20, width=64, height=64,
                             scheduler=scheduler)


@pytest.mark.parametrize("key", sorted(TABLE))
def test_a1111_text_names_each_sampler_and_reads_back(key):
    _label, sampler, schedule, class_name, _options = TABLE[key]
    text = format_parameters(_request(key), scheduler_class=class_name)
    written = f"Sampler: {sampler}, Schedule type: {schedule}," if schedule else f"Sampler: {sampler}, CFG scale"
    assert written in text
    assert request_from_parameters(text).scheduler == key
    # Older A1111 versions wrote the schedule into the sampler's name ("DPM++ 2M Karras").
    old_style = f"a cat\nSteps: 20, Sampler: {sampler}{' ' + schedule if schedule else ''}, CFG scale: 7, Seed: 1"
    assert request_from_parameters(old_style).scheduler == key


@pytest.mark.parametrize("class_name", sorted(DEFAULT_BY_CLASS))
def test_a1111_text_names_the_model_default_by_the_class_that_ran(class_name):
    text = format_parameters(_request("default"), scheduler_class=class_name)
    assert f"Sampler: {DEFAULT_BY_CLASS[class_name]}, CFG scale" in text
