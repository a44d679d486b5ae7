"""Which eye: metadata first; otherwise the disc's side, used only when confident."""

from __future__ import annotations

import glob

import numpy as np

from riqa_desktop.core.analyzer import thumbnail
from riqa_desktop.core.assessment import Assessment
from riqa_desktop.core.laterality import MIN_CONFIDENCE, EyeGuess, checked_by_disc, eye_of, infer_from_image
from riqa_desktop.core.loading import PhotoMetadata, read_image


def test_disc_on_the_left_means_left_eye(retina_rgb):
    # scikit-image's photo is macula-centred with the disc on the left of the picture.
    g = infer_from_image(thumbnail(retina_rgb, 256))
    assert g.eye == "L" and g.confidence >= MIN_CONFIDENCE and g.disc_xy[0] < -0.3


def test_mirrored_photo_is_the_other_eye(retina_rgb):
    g = infer_from_image(thumbnail(np.ascontiguousarray(retina_rgb[:, ::-1]), 256))
    assert g.eye == "R" and g.confidence >= MIN_CONFIDENCE


def test_metadata_wins_over_the_picture(retina_rgb):
    a = Assessment(path="x", metadata=PhotoMetadata(laterality="R", laterality_source="dicom"))
    a.thumbnail = thumbnail(retina_rgb, 256)
    g = eye_of(a)
    assert (g.eye, g.source, g.confidence) == ("R", "dicom", 1.0)


def test_flat_picture_is_unknown():
    a = Assessment(path="x")
    a.thumbnail = np.full((200, 200, 3), 90, np.uint8)
    assert eye_of(a).eye is None


def test_disc_centred_chase_photos_abstain(shared_data):
    """CHASE_DB1 is disc-centred: the disc's side says nothing, so no confident guess (and no wrong one)."""
    files = sorted(glob.glob(str(shared_data / "CHASEDB1" / "*" / "images" / "*")))[::3]
    confident = [f for f in files if infer_from_image(thumbnail(read_image(f, min_side=256).rgb, 256)).confidence
                 >= MIN_CONFIDENCE]
    assert not confident


def test_macula_centred_photos_are_confident(shared_data):
    files = sorted(glob.glob(str(shared_data / "DRIVE" / "*" / "images" / "*")))[::5]
    guesses = [infer_from_image(thumbnail(read_image(f, min_side=256).rgb, 256)) for f in files]
    assert sum(g.confidence >= MIN_CONFIDENCE for g in guesses) >= 0.75 * len(guesses)


def test_the_model_answers_when_metadata_is_silent_and_abstains_when_unsure(retina_rgb):
    a = Assessment(path="x", grade="good")
    a.eye_model = {"p_right": 0.98, "threshold": 0.9}
    assert (eye_of(a).eye, eye_of(a).source) == ("R", "model")
    a.thumbnail = thumbnail(retina_rgb, 256)  # the disc clearly says "L": the two cues disagree
    assert eye_of(a).eye is None
    a.eye_model = {"p_right": 0.02, "threshold": 0.9}
    assert (eye_of(a).eye, eye_of(a).source) == ("L", "model")
    a.eye_model = {"p_right": 0.7, "threshold": 0.9}
    g = eye_of(a)
    assert g.eye is None and g.source == "model" and g.confidence == 0.7
    a.metadata = PhotoMetadata(laterality="L", laterality_source="filename")
    assert eye_of(a).eye == "L"


def test_only_a_confident_disc_on_the_other_side_vetoes_the_model():
    model_r = EyeGuess("R", "model", 0.95)
    assert checked_by_disc(model_r, EyeGuess("L", "disc", MIN_CONFIDENCE)).eye is None
    assert checked_by_disc(model_r, EyeGuess("L", "disc", MIN_CONFIDENCE - 0.05)).eye == "R"
    assert checked_by_disc(model_r, EyeGuess("R", "disc", 0.9)) == model_r


def test_a_disc_centred_photo_vetoes_the_model(shared_data):
    """CHASE_DB1 is disc-centred: most of its photos are recognised as such, and then the model's eye is not used."""
    files = sorted(glob.glob(str(shared_data / "CHASEDB1" / "*" / "images" / "*")))
    guesses = [infer_from_image(thumbnail(read_image(f, min_side=256).rgb, 256)) for f in files]
    assert sum(g.centred for g in guesses) >= 0.5 * len(guesses)
    centred = next(g for g in guesses if g.centred)
    assert checked_by_disc(EyeGuess("R", "model", 0.99), centred).eye is None
