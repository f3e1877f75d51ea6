"""Brute-force references the tests compare against: plain-Python loops over single boxes."""


def scalar_iou(a, b):
    """IoU of two (x1, y1, x2, y2) boxes: intersection area / union area, 0 for an empty union."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
