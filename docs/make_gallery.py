"""Regenerate the README gallery: run every example at full size and copy its figure into
``docs/images/`` as a palette PNG (each well under 200 KB).

    python docs/make_gallery.py [name ...]
"""
import importlib.util
import pathlib
import sys
import tempfile
import time

from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"

# example -> (extra arguments, figure it writes, gallery file name)
GALLERY = {
    "quickstart": ([], "quickstart_curves.png", "quickstart.png"),
    "optimizer_playground": ([], "optimizer_playground_himmelblau.png", "optimizer_playground.png"),
    "lr_finder_demo": ([], "lr_finder_demo.png", "lr_finder.png"),
    "classical_ml": ([], "classical_ml_boundaries.png", "decision_boundaries.png"),
    "classical_ml:pca": ([], "classical_ml_digits.png", "pca_digits.png"),
    "conv_toeplitz": ([], "conv_toeplitz.png", "conv_toeplitz.png"),
    "detection_toolbox": ([], "detection_toolbox.png", "detection_toolbox.png"),
    "gan_mixture": (["--loss", "wgan-gp"], "gan_mixture_wgan-gp.png", "gan_mixture.png"),
    "vae_digits": ([], "vae_digits_samples.png", "vae_digits.png"),
    "loss_landscape": ([], "loss_landscape.png", "loss_landscape.png"),
    "fit_sine": ([], "fit_sine.png", "fit_sine.png"),
    "profile_model": (["--clock", "cpu"], "profile_grad_flow.png", "grad_flow.png"),
    "profile_model:graph": (["--clock", "cpu"], "profile_graph.png", "autograd_graph.png"),
    "train_ssd": ([], "train_ssd.png", "train_ssd.png"),
}


def run_example(name, args, out):
    spec = importlib.util.spec_from_file_location(f"gallery_{name}", ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(list(args) + ["--out", str(out)])


def shrink(source, target, limit=200_000):
    """Save ``source`` as a 256-colour PNG, halving the scale until it is under ``limit`` bytes."""
    image = Image.open(source).convert("RGB")
    scale = 1.0
    while True:
        size = (int(image.width * scale), int(image.height * scale))
        small = image.resize(size, Image.LANCZOS) if scale < 1 else image
        small.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)
        if target.stat().st_size < limit or scale < 0.3:
            return target.stat().st_size
        scale *= 0.8


def main(names=None):
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        done = set()
        for key, (args, figure, gallery_name) in GALLERY.items():
            example = key.split(":")[0]
            if names and example not in names:
                continue
            out = pathlib.Path(tmp) / example
            if example not in done:
                start = time.perf_counter()
                run_example(example, args, out)
                done.add(example)
                print(f"{example}: {time.perf_counter() - start:.1f} s")
            size = shrink(out / figure, IMAGES / gallery_name)
            print(f"  -> docs/images/{gallery_name} ({size / 1000:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
