from tests.pipeline.fixtures import bad_inputs, fast_render, talk_video

__all__ = ["bad_inputs", "fast_render", "talk_video"]
