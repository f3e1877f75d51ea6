"""Fetch tinygrad 0.12.0's test/test_ops.py and run it on tinydl through the name map here."""
import os
import pathlib
import subprocess
import sys
import tarfile
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VERSION = "0.12.0"


def main():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "--no-binary", ":all:", f"tinygrad=={VERSION}", "-d", tmp], check=True)
        with tarfile.open(next(pathlib.Path(tmp).glob("tinygrad-*.tar.gz"))) as archive:
            member = archive.getmember(f"tinygrad-{VERSION}/test/test_ops.py")
            (pathlib.Path(tmp) / "test_ops.py").write_bytes(archive.extractfile(member).read())
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), str(ROOT)]),
                   OPENBLAS_NUM_THREADS="1")
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "-W", "ignore", "--tb=no", "test_ops.py"], cwd=tmp,
                              env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
