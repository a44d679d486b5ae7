"""Which DICOM objects may reach the models: the header says what a picture is.

A CT slice or an ultrasound frame graded "Reject: possible cataract" is worse
than useless, and the header already tells. Allowed: ophthalmic photography
(8/16 bit, wide field), secondary capture (unless its Modality names a non-eye
modality), VL photographic (unless it names a body part that is not an eye),
VL microscopic / slide-coordinates (only with an eye named), and objects whose
class and modality are unknown. Everything else gets one line, e.g.
"not a fundus photo: a CT image", and is never decoded.
"""

from __future__ import annotations

_OP = "1.2.840.10008.5.1.4.1.1.77.1.5."
_ALWAYS = {_OP + "1", _OP + "2", _OP + "5", _OP + "6"}  # OP 8/16 bit, wide-field OP (two kinds)
_SECONDARY = {"1.2.840.10008.5.1.4.1.1.7", "1.2.840.10008.5.1.4.1.1.7.2", "1.2.840.10008.5.1.4.1.1.7.3",
              "1.2.840.10008.5.1.4.1.1.7.4"}  # SC, multi-frame grayscale byte/word, true colour
_VL_PHOTO = {"1.2.840.10008.5.1.4.1.1.77.1.4"}
_VL_NEEDS_EYE = {"1.2.840.10008.5.1.4.1.1.77.1.2", "1.2.840.10008.5.1.4.1.1.77.1.3"}  # microscopic, slide

_MODALITY_WORDS = {
    "CT": "a CT image", "MR": "an MR image", "US": "an ultrasound image", "CR": "an X-ray", "DX": "an X-ray",
    "IO": "a dental X-ray", "PX": "a dental X-ray", "MG": "a mammogram", "XA": "an X-ray angiogram",
    "RF": "a fluoroscopy image", "NM": "a nuclear medicine image", "PT": "a PET image", "OCT": "an OCT scan",
    "OPT": "an OCT scan", "OPM": "an ophthalmic map", "IVOCT": "an OCT scan", "IVUS": "an ultrasound image",
    "ES": "an endoscopy image", "SM": "a slide microscopy image", "GM": "a microscopy image",
    "RTIMAGE": "a radiotherapy image", "RTDOSE": "a radiotherapy dose map", "SEG": "a segmentation",
    "DG": "a diaphanography image", "TG": "a thermography image", "BMD": "a bone density scan",
}  # not named (XC, OP, OT, none, unknown codes): photos, or nothing said; the pixels decide
_EYE_WORDS = ("EYE", "RETINA", "FUNDUS", "OPHTHALM", "OCUL", "OPTIC")
_EYE_CODES = {"81745001", "T-AA000", "5665001", "T-AA610"}  # SNOMED CT / SRT: eye structure, retina


def refusal(ds) -> str | None:
    """None when `ds` may be a fundus photo; otherwise the one-line reason it is not."""
    sop, modality = _text(ds, "SOPClassUID"), _text(ds, "Modality").upper()
    if sop in _ALWAYS:
        return None
    named = _MODALITY_WORDS.get(modality)
    if sop in _SECONDARY or sop in _VL_PHOTO:
        if named:
            return f"not a fundus photo: {named}"
        if sop in _VL_PHOTO and _body_part(ds) and not _names_eye(ds):
            return f"not a fundus photo: a photo of the {_body_part(ds).lower()}"
        return None
    if sop in _VL_NEEDS_EYE:
        return None if _names_eye(ds) else f"not a fundus photo: {named or 'a microscopy image'}"
    if named:
        return f"not a fundus photo: {named}"
    name = _sop_name(sop).removesuffix(" Storage")
    if name:
        return f"not a fundus photo: {_article(name)} {name}"
    return None  # unknown class and modality: the fundus gate and the model judge the pixels


def _article(name: str) -> str:
    """'an MR Image', 'a CT Image', 'an Enhanced ...': initialisms are spelled out."""
    first = name.split()[0]
    spelled = first.isupper() and len(first) <= 4
    return "an" if name[0] in ("AEFHILMNORSX" if spelled else "AEIOU") else "a"


def _text(ds, keyword: str) -> str:
    try:
        v = ds.get(keyword, "")
        return str(v).strip() if v is not None else ""
    except Exception:  # a corrupt element must not sink the decision
        return ""


def _body_part(ds) -> str:
    part = _text(ds, "BodyPartExamined")
    if part:
        return part
    try:
        seq = ds.get("AnatomicRegionSequence") or []
        return str(seq[0].get("CodeMeaning", "")).strip() if len(seq) else ""
    except Exception:
        return ""


def _names_eye(ds) -> bool:
    """The header names the eye: OP modality, an eye body part or code, or eye words in the descriptions."""
    if _text(ds, "Modality").upper() == "OP":
        return True
    words = " ".join(_text(ds, k) for k in ("BodyPartExamined", "StudyDescription", "SeriesDescription")).upper()
    try:
        for item in ds.get("AnatomicRegionSequence") or []:
            if str(item.get("CodeValue", "")).strip() in _EYE_CODES:
                return True
            words += " " + str(item.get("CodeMeaning", "")).upper()
    except Exception:
        pass
    return any(w in words for w in _EYE_WORDS)


def _sop_name(sop: str) -> str:
    """A registered storage SOP class's name ('' for unknown or private UIDs)."""
    from pydicom.uid import UID

    try:
        uid = UID(sop)
        return uid.name if uid.is_valid and uid.name != sop and "Storage" in uid.name else ""
    except Exception:
        return ""
