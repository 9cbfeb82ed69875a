from tests.projects.conftest import bad_inputs, fast_render, live, talk_video

__all__ = ["bad_inputs", "fast_render", "live", "talk_video"]
