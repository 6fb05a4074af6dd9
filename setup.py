"""meint-jax: weakly supervised micro-expression intensity estimation in JAX/Flax."""

from setuptools import find_packages, setup

setup(
    name="meint-jax",
    version="0.1.0",
    description="Continuous micro-expression intensity from onset/apex/offset labels, in JAX/Flax.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    # configs and data_builders install as packages too: notebooks and pip users import them from anywhere.
    packages=find_packages(
        include=["meint_jax", "meint_jax.*", "data_builders", "data_builders.*", "configs", "configs.*"]),
    install_requires=[
        "absl-py>=2.1",
        "av>=12.0",  # PyAV: decodes users' video files for prediction (FFmpeg bundled in the wheel)
        "dlib-bin>=19.24",  # prebuilt dlib: face detector and landmarks
        "face-recognition-models>=0.3.0",  # ships dlib's 68-point model: nothing downloads
        "clu>=0.0.12",  # metric_writers: TensorBoard events and log lines from one call
        "flax>=0.10",
        "importlib_resources>=6.0",  # tensorflow-datasets imports it without declaring it
        "jax>=0.5",
        "matplotlib>=3.8",
        "ml-collections>=0.1.1",
        "numpy>=1.26",
        "openpyxl>=3.1",  # the datasets' .xlsx coding sheets
        "opencv-python-headless>=4.8",  # Farneback optical flow for the long videos' region features
        "optax>=0.2.4",
        "orbax-checkpoint>=0.11",
        "pillow>=10.0",
        "safetensors>=0.4",  # timm's .safetensors ResNet18 weights
        "scipy>=1.11",
        "tensorboard>=2.16",  # training curves (clu.metric_writers writes the events)
        "tensorflow-cpu>=2.16",
        "tensorflow-datasets>=4.9.6",
        "tqdm>=4.66",
        "xlrd>=2.0",  # CAS(ME)^3 ships its annotations as old-format .xls
    ],
    extras_require={
        # torch only as the tests' reference; pinned: an unpinned torch pulls GBs of CUDA packages.
        # scikit-learn: the recognition metrics' reference. xlwt writes the .xls fixtures of CAS(ME)^3.
        # nbclient, nbformat, ipykernel: the notebooks are executed by the tests. apache-beam: the Beam build's test.
        "test": ["apache-beam>=2.50", "dill>=0.3", "ipykernel>=6.29", "nbclient>=0.10", "nbformat>=5.9",
                 "pytest>=8.0", "pytest-xdist>=3.5", "ruff>=0.6", "safetensors>=0.4", "scikit-learn>=1.3",
                 "torch==2.13.0", "xlwt>=1.3"],
        # `tfds build` (tensorflow-datasets 4.9.10's CLI imports both at start-up).
        "tfds-cli": ["apache-beam>=2.50", "mlcroissant>=1.0"],
    },
)
