"""Running a generation: the denoising loop, the excite step and its maths, attention capture, text
conditioning, previews, samplers and schedules, the engine's own process, and run-time estimates."""
