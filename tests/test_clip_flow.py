"""Region motion of trimmed clips (data/clip_flow.py): a moved mouth read back in pixels through the template's
regions, each clip's points found once, the template where dlib finds no face, and bad windows refused."""

import numpy as np
import pytest

from meint_jax.data import clip_flow, flow_features, synthetic
from tests.test_flow_features import MOUTH_REGIONS, OTHER_REGIONS, PAD, SIZE, TOLERANCE, frame, mouth_patch


@pytest.fixture(scope="module")
def texture():
    from scipy import ndimage

    rng = np.random.default_rng(5)
    noise = ndimage.gaussian_filter(rng.normal(size=(SIZE + 2 * PAD,) * 2), sigma=2.0)
    return 128.0 + 40.0 * noise / noise.std()


def window(texture, patch, shifts):
    """uint8 [T, SIZE, SIZE, 3]: the mouth patch moved right by each of `shifts` px, the rest still."""
    return np.stack([np.repeat(frame(texture, patch=patch, local=(dx, 0.0))[..., None], 3, axis=-1)
                     for dx in shifts])


def test_a_moved_mouth_reads_its_motion_in_the_mouth_regions_and_nothing_elsewhere(texture):
    patch = mouth_patch(clip_flow.template_landmarks(SIZE))
    shifts = [0.0, 0.5, 1.0, 1.5, 2.0]
    windows = np.stack([window(texture, patch, shifts), window(texture, patch, [0.0] * 5)])
    motion = clip_flow.ClipFlow("template")(windows).reshape(2, 5, len(flow_features.REGION_NAMES), 2)
    assert motion.dtype == np.float32 and np.all(motion[:, 0] == 0.0)          # since the window's first frame
    np.testing.assert_allclose(motion[0][:, MOUTH_REGIONS, 0].mean(axis=1), shifts, atol=TOLERANCE)
    assert np.abs(motion[0][:, OTHER_REGIONS]).max() < TOLERANCE
    assert np.abs(motion[1]).max() < TOLERANCE                                 # a still clip: no motion


def test_the_template_sits_on_the_synthetic_faces_within_two_pixels():
    for seed in range(40, 45):                       # identities the template was not averaged from
        truth = synthetic.face_landmarks(synthetic.make_identity(np.random.default_rng(seed)), 112)
        assert np.abs(clip_flow.template_landmarks(112) - truth).mean() < 2.0


def test_each_clips_points_are_found_once_and_the_template_stands_in_where_dlib_finds_no_face(monkeypatch):
    calls = []

    def fake_dlib(frame):
        calls.append(int(frame[0, 0, 0]))
        return None if frame[0, 0, 0] == 2 else np.full((68, 2), 10.0)

    monkeypatch.setattr(clip_flow, "crop_landmarks", fake_dlib)
    flow = clip_flow.ClipFlow("dlib")
    windows = np.zeros((3, 2, 32, 32, 3), np.uint8)
    windows[1, :, 0, 0] = 1
    windows[2, :, 0, 0] = 2
    flow(windows, keys=[b"a", b"b", b"c"])
    flow(windows, keys=[b"a", b"b", b"c"])
    assert calls == [0, 1, 2]                        # once per clip, not per window
    assert (flow.found, flow.templated) == (2, 1)
    np.testing.assert_array_equal(flow.points(b"c", windows[2, 0]), clip_flow.template_landmarks(32))
    assert not clip_flow.ClipFlow("template").detect


def test_windows_that_are_not_uint8_clips_and_unknown_landmarks_are_refused():
    with pytest.raises(ValueError, match="uint8 windows"):
        clip_flow.ClipFlow("template")(np.zeros((2, 4, 32, 32, 3), np.float32))
    with pytest.raises(ValueError, match="uint8 windows"):
        clip_flow.ClipFlow("template")(np.zeros((4, 32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="landmarks"):
        clip_flow.ClipFlow("mediapipe")
