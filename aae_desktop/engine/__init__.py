"""The generation engine (torch + diffusers, never Qt); importing it first switches the Hub libraries offline."""
from aae_desktop.engine.models.offline import enforce_offline as _enforce_offline

# Runs before any engine module imports diffusers/huggingface_hub: see engine/models/offline.py.
_enforce_offline()
