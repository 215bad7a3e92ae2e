"""One description per model family (SD 1.x, SD 2.x 512/768, SDXL): everything that differs, in one place.

A family is looked up once, when a model loads (LoadedModel.family_spec); the engine, the CLI and
the window read these fields instead of testing the family name. Nothing here imports torch, so
the window and the model lists can use it cheaply.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from aae_desktop.engine.errors import ModelLoadError


@dataclass(frozen=True)
class SizePreset:
    label: str
    width: int
    height: int


@dataclass(frozen=True)
class ModelFamily:
    key: str  # what settings, PNG metadata and --family store
    label: str  # what the window and the CLI show
    pipeline_class: str  # the diffusers pipeline a folder of this family loads as
    # Text encoders (pipeline attribute names) and how their states reach the UNet:
    # "single" = one encoder's last hidden state (SD 1.x/2.x);
    # "sdxl" = both encoders' penultimate states side by side, plus the second one's pooled
    #          output and the size/crop ids as added conditioning ("text_time").
    text_encoders: tuple[str, ...]
    conditioning: str
    # The padding token of each text encoder's tokenizer (same BPE vocabulary for all, so the
    # same token indices address every encoder): OpenAI CLIP pads with end-of-text, OpenCLIP with "!".
    pad_tokens: tuple[str, ...]
    # How a single-file checkpoint stores the text encoder(s): "clip" (OpenAI CLIP, transformers
    # layout), "open_clip" (OpenCLIP's own layout), "sdxl" (conditioner.embedders.0 and .1).
    checkpoint_layout: str
    text_width: int  # the UNet's cross-attention width (text encoder output width)
    prediction_type: str  # what a folder's scheduler normally says; single files take it from here
    default_width: int
    default_height: int
    default_guidance: float
    size_presets: tuple[SizePreset, ...]
    # Latent -> RGB preview: rgb = latent . factors + bias, then [-1, 1] -> [0, 255].
    latent_rgb_factors: tuple[tuple[float, float, float], ...]
    latent_rgb_bias: tuple[float, float, float]
    # fp16 VAE decoding overflows for this family unless upcast (SDXL's VAE config says force_upcast);
    # families without it decode in fp16 and fall back to fp32 only when the image has NaNs.
    upcast_vae: bool
    # Which UNet level's cross-attention maps the loss reads: an index counted from the latent grid
    # (the paper: 2 = 16x16 maps for 512 px SD), or None = the lowest-resolution level that has
    # cross-attention (SDXL: 32x32 at 1024 px, where down, mid and up blocks all attend).
    loss_level: int | None
    # Softmax over the prompt's tokens stops at end-of-text (not at the 77th position) by default:
    # the padding after it carries no word and, with "!" padding (OpenCLIP), would soak up attention.
    softmax_stop_at_eot: bool
    config_folder: str  # resources/configs/<this>: configs for single-file checkpoints of this family

    def preset_sizes(self) -> list[tuple[int, int]]:
        return [(p.width, p.height) for p in self.size_presets]


# A widely used linear fit of SD 1.x/2.x VAE latents to RGB (they share one VAE latent space).
_SD_LATENT_RGB = (
    (0.298, 0.207, 0.208),
    (0.187, 0.286, 0.173),
    (-0.158, 0.189, 0.264),
    (-0.184, -0.271, -0.473),
)
# The widely published fit for SDXL's VAE (a different latent space), with its bias.
_SDXL_LATENT_RGB = (
    (0.3651, 0.4232, 0.4341),
    (-0.2533, -0.0042, 0.1068),
    (0.1076, 0.1111, -0.0362),
    (-0.3165, -0.2492, -0.2188),
)
_SDXL_LATENT_RGB_BIAS = (0.1084, -0.0175, -0.0011)

_SD512_PRESETS = (
    SizePreset("Square 512 × 512", 512, 512),
    SizePreset("Portrait 512 × 768", 512, 768),
    SizePreset("Landscape 768 × 512", 768, 512),
    SizePreset("Wide 912 × 512", 912, 512),
    SizePreset("Small 256 × 256 (fast drafts)", 256, 256),
)
_SD768_PRESETS = (
    SizePreset("Square 768 × 768", 768, 768),
    SizePreset("Portrait 768 × 1024", 768, 1024),
    SizePreset("Landscape 1024 × 768", 1024, 768),
    SizePreset("Wide 1216 × 704", 1216, 704),
    SizePreset("Small 512 × 512 (fast drafts)", 512, 512),
)
# The resolutions SDXL was trained on (about one megapixel each).
_SDXL_PRESETS = (
    SizePreset("Square 1024 × 1024", 1024, 1024),
    SizePreset("Landscape 1152 × 896", 1152, 896),
    SizePreset("Portrait 896 × 1152", 896, 1152),
    SizePreset("Landscape 1216 × 832", 1216, 832),
    SizePreset("Portrait 832 × 1216", 832, 1216),
    SizePreset("Wide 1344 × 768", 1344, 768),
    SizePreset("Tall 768 × 1344", 768, 1344),
    # Below SDXL's training sizes, so composition suffers, but a quarter of the work: for drafts (#20 §6).
    SizePreset("Small 512 × 512 (fast drafts)", 512, 512),
)

EOT = "<|endoftext|>"

_SD_COMMON: dict[str, Any] = dict(
    pipeline_class="StableDiffusionPipeline", text_encoders=("text_encoder",), conditioning="single",
    default_guidance=7.5, latent_rgb_factors=_SD_LATENT_RGB, latent_rgb_bias=(0.0, 0.0, 0.0),
    upcast_vae=False, loss_level=2,
)

FAMILIES: dict[str, ModelFamily] = {
    "sd1": ModelFamily(key="sd1", label="SD 1.x", pad_tokens=(EOT,), checkpoint_layout="clip", text_width=768, prediction_type="epsilon", default_width=512,
                       default_height=512, size_presets=_SD512_PRESETS, softmax_stop_at_eot=False,
                       config_folder="sd1", **_SD_COMMON),
    "sd2": ModelFamily(key="sd2", label="SD 2.x (512 px, epsilon)", pad_tokens=("!",), checkpoint_layout="open_clip",
                       text_width=1024, prediction_type="epsilon",
                       default_width=512, default_height=512, size_presets=_SD512_PRESETS,
                       softmax_stop_at_eot=True, config_folder="sd2", **_SD_COMMON),
    "sd2v": ModelFamily(key="sd2v", label="SD 2.x (768 px, v-prediction)", pad_tokens=("!",),
                        checkpoint_layout="open_clip", text_width=1024,
                        prediction_type="v_prediction", default_width=768, default_height=768,
                        size_presets=_SD768_PRESETS, softmax_stop_at_eot=True, config_folder="sd2v", **_SD_COMMON),
    "sdxl": ModelFamily(
        key="sdxl", label="SDXL", pipeline_class="StableDiffusionXLPipeline",
        text_encoders=("text_encoder", "text_encoder_2"), conditioning="sdxl", pad_tokens=(EOT, "!"),
        checkpoint_layout="sdxl", text_width=2048,
        prediction_type="epsilon", default_width=1024, default_height=1024, default_guidance=5.0,
        size_presets=_SDXL_PRESETS, latent_rgb_factors=_SDXL_LATENT_RGB, latent_rgb_bias=_SDXL_LATENT_RGB_BIAS,
        upcast_vae=True, loss_level=None, softmax_stop_at_eot=True, config_folder="sdxl",
    ),
}
DEFAULT_FAMILY = "sd1"


def get_family(key: str) -> ModelFamily:
    """The description of a family key; a ModelLoadError names the known ones."""
    try:
        return FAMILIES[key]
    except KeyError:
        raise ModelLoadError(f"Unknown model family '{key}'. Choose one of: {', '.join(FAMILIES)}.") from None


def family_label(key: str | None) -> str:
    """Display label; unknown keys (from another version's settings) are shown as they are."""
    return FAMILIES[key].label if key in FAMILIES else (key or "")


def supported_pipeline_classes() -> set[str]:
    """Pipeline class names (model_index.json) of folders the engine loads."""
    # The deprecated A&E pipeline has the same components as StableDiffusionPipeline.
    return {f.pipeline_class for f in FAMILIES.values()} | {"StableDiffusionAttendAndExcitePipeline"}


def family_from_configs(pipeline_class: str, unet_config: Mapping[str, Any],
                        scheduler_config: Mapping[str, Any] | None = None) -> str:
    """Family key from a folder's (or a pipeline's) configs.

    SDXL shows in its pipeline class and in the UNet's "text_time" added conditioning; SD 2.x in
    the 1024-wide OpenCLIP text encoder; 512 vs 768 in the scheduler's prediction type.
    """
    if pipeline_class == FAMILIES["sdxl"].pipeline_class or unet_config.get("addition_embed_type") == "text_time":
        return "sdxl"
    width = unet_config.get("cross_attention_dim", 768)
    if isinstance(width, (list, tuple)):
        width = width[0]
    if width == FAMILIES["sd2"].text_width:
        prediction = (scheduler_config or {}).get("prediction_type", "epsilon")
        return "sd2v" if prediction == "v_prediction" else "sd2"
    return "sd1"
