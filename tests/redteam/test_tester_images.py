"""`empathy calibrate pupil-scale --image` on pictures a tester has at hand. Findings: a
1x1 picture made OpenCV's blob detector refuse its own parameters (maxArea below
minArea: an unexpected error, exit 70); a phone's photo of the card went to the grid
detector at full size (48 MP: 8 s and 2.4 GB; a 20000x20000 PNG of 5 MB: 108 s and 19 GB,
enough to take a Pi down). Now: 'grid not found', and pictures larger than any eye
camera's frame are refused before detection."""

import cv2
import numpy as np
import pytest

from empathy import cli


def pupil_scale(tmp_path, capfd, monkeypatch, image):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    cv2.imwrite(str(tmp_path / "card.png"), image)
    rc = cli.main(["calibrate", "pupil-scale", "--image", str(tmp_path / "card.png"),
                   "--store", str(tmp_path / "store"), "--out", str(tmp_path / "out")])
    err = capfd.readouterr().err
    assert "unexpected error" not in err and "Traceback" not in err, err
    return rc, err


@pytest.mark.parametrize("size", [(1, 1), (3, 5), (19, 21)])
def test_a_picture_too_small_for_the_card_is_a_grid_not_found(tmp_path, capfd, monkeypatch,
                                                               size):
    rc, err = pupil_scale(tmp_path, capfd, monkeypatch, np.full(size, 200, np.uint8))
    assert rc == 1 and "circle grid was not found" in err, err


def test_a_phones_photo_is_refused_before_the_detector(tmp_path, capfd, monkeypatch):
    rc, err = pupil_scale(tmp_path, capfd, monkeypatch, np.full((4000, 4100), 200, np.uint8))
    assert rc == 1 and "4100x4000 is more than an eye camera's frame" in err, err
