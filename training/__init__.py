"""Training module: reproduces every shipped model (`python -m training --help`).

Never imported by the app; imports model definitions from `riqa_desktop.models`.
"""
