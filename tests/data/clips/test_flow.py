"""Region motion of trimmed clips (data/clips/flow.py): a moved mouth read back in pixels through the template's
regions, windows read off a clip's trajectories, the template where dlib finds no face, bad inputs refused."""

import numpy as np
import pytest

from meint_jax.data import flow_features
from meint_jax.data.clips import flow as clip_flow
from meint_jax.data.clips import synthetic
from tests.data.test_flow_features import MOUTH_REGIONS, OTHER_REGIONS, PAD, SIZE, TOLERANCE, frame, mouth_patch


@pytest.fixture(scope="module")
def texture():
    from scipy import ndimage

    rng = np.random.default_rng(5)
    noise = ndimage.gaussian_filter(rng.normal(size=(SIZE + 2 * PAD,) * 2), sigma=2.0)
    return 128.0 + 40.0 * noise / noise.std()


def frames_of(texture, patch, shifts):
    """uint8 [N, SIZE, SIZE, 3]: the mouth patch moved right by each of `shifts` px, the rest still."""
    return np.stack([np.repeat(frame(texture, patch=patch, local=(dx, 0.0))[..., None], 3, axis=-1)
                     for dx in shifts])


def test_a_moved_mouth_reads_its_motion_in_the_mouth_regions_and_nothing_elsewhere(texture):
    patch = mouth_patch(clip_flow.template_landmarks(SIZE))
    shifts = [0.0, 0.0, 0.5, 1.0, 1.5, 2.0, 2.0]
    numbers = np.arange(len(shifts)) + 40
    motion = clip_flow.clip_motion(frames_of(texture, patch, shifts), numbers, onset=41, offset=45, size=SIZE,
                                   landmarks="template")
    assert motion.landmarks == "template" and list(motion.frame_numbers) == [41, 42, 43, 44, 45]
    window = motion.window(np.array([42, 43, 44, 45])).reshape(4, len(flow_features.REGION_NAMES), 2)
    assert window.dtype == np.float32 and np.all(window[0] == 0.0)             # since the window's first frame
    np.testing.assert_allclose(window[:, MOUTH_REGIONS, 0].mean(axis=1), [0.0, 0.5, 1.0, 1.5], atol=TOLERANCE)
    assert np.abs(window[:, OTHER_REGIONS]).max() < TOLERANCE
    still = clip_flow.clip_motion(frames_of(texture, patch, [0.0] * 4), np.arange(4), 0, 3, SIZE, "template")
    assert np.abs(still.trajectories).max() < TOLERANCE                       # a still clip: no motion


def test_a_windows_frames_are_read_at_the_nearest_expression_frame_and_relative_to_its_first():
    motion = clip_flow.ClipMotion(np.array([10, 12, 14, 16]), np.arange(4, dtype=np.float32)[:, None] * [1, 10],
                                  "dlib")
    # 9 is before the onset (a jittered window): the onset's row; 11 ties 10 and 12: the later; 17: the last.
    np.testing.assert_array_equal(motion.window(np.array([9, 11, 14, 17])),
                                  [[0, 0], [1, 10], [2, 20], [3, 30]])
    np.testing.assert_array_equal(motion.window(np.array([12, 16])), [[0, 0], [2, 20]])
    # Two expressions of one recording share its id: the onset tells them apart.
    other = clip_flow.ClipMotion(np.array([12, 14]), np.array([[0, 0], [5, 50]], np.float32), "template")
    motions = {clip_flow.motion_key(b"a", 10): motion, clip_flow.motion_key("a", 12): other}
    windows = clip_flow.windows_of(motions, [b"a", "a"], [10, 12], np.array([[10, 12], [12, 14]]))
    np.testing.assert_array_equal(windows, [[[0, 0], [1, 10]], [[0, 0], [5, 50]]])


def test_the_template_sits_on_the_synthetic_faces_within_two_pixels():
    for seed in range(40, 45):                       # identities the template was not averaged from
        truth = synthetic.face_landmarks(synthetic.make_identity(np.random.default_rng(seed)), 112)
        assert np.abs(clip_flow.template_landmarks(112) - truth).mean() < 2.0


def test_dlibs_points_place_the_regions_and_the_template_stands_in_where_it_finds_no_face(monkeypatch):
    seen = []

    def fake_dlib(frame):
        seen.append(int(frame[0, 0, 0]))
        return None if frame[0, 0, 0] == 2 else np.full((68, 2), 10.0)

    monkeypatch.setattr(clip_flow, "crop_landmarks", fake_dlib)
    monkeypatch.setattr(clip_flow.flow_features, "region_trajectories",
                        lambda crops, points, size: np.broadcast_to(points[:1, :1], (len(crops), 36)).copy())
    frames = np.zeros((3, 32, 32, 3), np.uint8)
    frames[1:, 0, 0] = 7
    motion = clip_flow.clip_motion(frames, [0, 1, 2], 1, 2, 16, "dlib")
    assert motion.landmarks == "dlib" and seen == [7]            # found on the stored onset frame ...
    assert motion.trajectories[0, 0] == 5.0                       # ... its points scaled to the flow's 16 px
    frames[1:, 0, 0] = 2
    assert clip_flow.clip_motion(frames, [0, 1, 2], 1, 2, 16, "dlib").landmarks == "template"
    assert clip_flow.clip_motion(frames, [0, 1, 2], 1, 2, 16, "template").landmarks == "template"
    assert seen == [7, 2]                            # the template config never asks dlib


def test_an_unknown_landmark_source_and_an_empty_expression_are_refused():
    frames = np.zeros((3, 32, 32, 3), np.uint8)
    with pytest.raises(ValueError, match="landmarks"):
        clip_flow.clip_motion(frames, [0, 1, 2], 0, 2, 32, "mediapipe")
    with pytest.raises(ValueError, match="no frame between onset 5 and offset 9"):
        clip_flow.clip_motion(frames, [0, 1, 2], 5, 9, 32, "template")
    with pytest.raises(ValueError, match="flow size of 64 px is larger than the 32-px frames"):
        clip_flow.clip_motion(frames, [0, 1, 2], 0, 2, 64, "template")
