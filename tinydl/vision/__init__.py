"""tinydl.vision: the pieces every detector shares (IoU, NMS, anchors, box coding, RoIAlign, mAP),
SSD's matching, loss and post-processing, and synthetic detection data with box-aware augmentation."""
from tinydl.vision.anchors import AnchorGenerator, fpn_level, kmeans_anchors, ssd_prior_boxes
from tinydl.vision.boxes import batched_nms, box_area, box_iou, generalized_box_iou, nms, soft_nms
from tinydl.vision.coder import BoxCoder
from tinydl.vision.datasets import SyntheticShapes
from tinydl.vision.metrics import evaluate_detections, voc_ap
from tinydl.vision.roi_align import roi_align
from tinydl.vision.ssd import MultiBoxLoss, detect, hard_negative_mining, match_priors

__all__ = [
    "box_area", "box_iou", "generalized_box_iou", "nms", "batched_nms", "soft_nms",
    "BoxCoder", "ssd_prior_boxes", "AnchorGenerator", "kmeans_anchors", "fpn_level", "roi_align",
    "voc_ap", "evaluate_detections", "match_priors", "hard_negative_mining", "MultiBoxLoss", "detect",
    "SyntheticShapes",
]
