"""EFIQA training: vessel segmenter -> stage-1 vessel inpainter (VUAD) -> stage-2 patch adapter."""
