"""dlib crop boxes on generated faces placed in larger frames, and the errors around them."""

import numpy as np
import pytest
from PIL import Image

from meint_jax.data import faces
from meint_jax.data.clips import synthetic

FACE = 224


@pytest.fixture(scope="module")
def face():
    cfg = synthetic.GeneratorConfig(num_subjects=1, clips_per_subject=1, frame_size=FACE, min_frames=20,
                                    max_frames=22, min_me_frames=8, max_me_frames=10, min_neutral=4)
    return next(synthetic.generate(cfg)).frames[0]


def in_canvas(face, left, top, shape=(400, 520)):
    canvas = np.full(shape + (3,), 90, np.uint8)
    canvas[top:top + FACE, left:left + FACE] = face
    return canvas


def test_box_follows_the_face_and_covers_eyes_to_mouth(face, tmp_path):
    for left, top in ((40, 30), (260, 150)):
        path = tmp_path / f"frame_{left}.jpg"
        Image.fromarray(in_canvas(face, left, top)).save(path, quality=95)
        x0, y0, x1, y1 = faces.clip_box(str(path))
        assert x1 - x0 == y1 - y0                                # square
        assert 0.4 * FACE < x1 - x0 < 1.2 * FACE
        # The rendered face's eyes sit near v=-0.2 and its mouth near v=0.5 (face units, frame spans [-1, 1]).
        eye_y, mouth_y = top + FACE * (1 - 0.2) / 2, top + FACE * 1.5 / 2
        assert y0 < eye_y and y1 > mouth_y
        assert abs((x0 + x1) / 2 - (left + FACE / 2)) < 0.1 * FACE


def test_box_stays_inside_the_image():
    points = np.zeros((68, 2))
    points[:, 0] = np.linspace(0, 60, 68)
    points[:, 1] = np.linspace(0, 50, 68)
    x0, y0, x1, y1 = faces.crop_box(points, (100, 80), margin=0.5)
    assert x0 >= 0 and y0 >= 0 and x1 <= 100 and y1 <= 80 and x1 - x0 == y1 - y0


def test_no_face_is_an_error_naming_the_frame(tmp_path):
    path = tmp_path / "empty_room.jpg"
    Image.fromarray(np.random.default_rng(0).integers(80, 100, (200, 260, 3), dtype=np.uint8)).save(path)
    with pytest.raises(faces.FaceNotFoundError, match="empty_room.jpg: no face found"):
        faces.clip_box(str(path))
