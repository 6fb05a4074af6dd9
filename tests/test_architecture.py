"""The package layout's rules (docs/design.md, "Imports"), checked on the source and in a process without TensorFlow."""

import ast
import os
import subprocess
import sys

import pytest

from tests import REPO

# Lower layers never import higher ones; `data` and `models` know nothing of each other.
LAYERS = {
    "meint_jax.common": 0, "meint_jax.data": 1, "meint_jax.models": 1, "meint_jax.testing": 2, "data_builders": 2,
    "meint_jax.metrics": 3, "meint_jax.training": 4, "meint_jax.inference": 5, "meint_jax.tasks": 6,
}
ENTRY_POINTS = ("meint_jax.main", "meint_jax.predict", "meint_jax.spot", "meint_jax.convert_weights",
                "meint_jax.paper_tables")


def _package(module: str) -> str | None:
    for package in LAYERS:
        if module == package or module.startswith(package + "."):
            return package
    return None


def _project_imports(path: str) -> set[str]:
    """Every meint_jax / data_builders module a file imports, at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {m for m in found if m.split(".")[0] in ("meint_jax", "data_builders")}


def _modules():
    for top in ("meint_jax", "data_builders"):
        for folder, _, names in os.walk(os.path.join(REPO, top)):
            for name in names:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    module = os.path.relpath(path, REPO)[:-3].replace(os.sep, ".").removesuffix(".__init__")
                    yield module, path


def layer_violations(modules) -> list[str]:
    """Every import of `modules` ((name, path) pairs) that points to an entry point or to the same or a
    higher layer of another package."""
    wrong = []
    for module, path in modules:
        own = _package(module)
        for target in _project_imports(path):
            other = _package(target)
            if target in ENTRY_POINTS and module not in ENTRY_POINTS:
                wrong.append(f"{module} imports the entry point {target}")
            elif own and other and other != own and LAYERS[other] >= LAYERS[own]:
                wrong.append(f"{module} ({own}) imports {target} ({other})")
    return wrong


def test_packages_import_only_the_layers_below_them():
    modules = list(_modules())
    assert all(_package(m) or m in ENTRY_POINTS or m == "meint_jax" for m, _ in modules), \
        [m for m, _ in modules if not (_package(m) or m in ENTRY_POINTS or m == "meint_jax")]
    wrong = layer_violations(modules)
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("module, forbidden", [
    ("meint_jax.inference", "meint_jax.tasks.intensity.train"),
    ("meint_jax.models", "meint_jax.data"),
    ("meint_jax.training.state", "meint_jax.data.clips.pipeline"),
    ("meint_jax.training.losses", "meint_jax.data"),
    ("meint_jax.metrics.correlation", "meint_jax.data"),
    ("meint_jax.data.pseudo_labels", "meint_jax.data.clips.pipeline"),
])
def test_leaves_know_no_pipeline_and_inference_no_loop(module, forbidden):
    for name, path in _modules():
        if name == module or name.startswith(module + "."):
            assert not any(t == forbidden or t.startswith(forbidden + ".") for t in _project_imports(path)), name


def test_the_layer_rule_catches_an_upward_import(tmp_path):
    """The check above can fail: a data module importing the training loop (inside a function) is reported,
    and so is any module importing an entry point."""
    path = tmp_path / "bad.py"
    path.write_text("def f():\n    from meint_jax.training import fit\n    from meint_jax import predict\n")
    assert sorted(layer_violations([("meint_jax.data.bad", str(path))])) == [
        "meint_jax.data.bad (meint_jax.data) imports meint_jax.training (meint_jax.training)",
        "meint_jax.data.bad (meint_jax.data) imports meint_jax.training.fit (meint_jax.training)",
        "meint_jax.data.bad imports the entry point meint_jax.predict"]
    assert layer_violations([("meint_jax.inference.ok", str(path))]) == [
        "meint_jax.inference.ok imports the entry point meint_jax.predict"]


def _module_imports(path: str, modules: set[str]) -> set[str]:
    """The project modules a file imports, at module level or inside functions: for `from package import
    name`, the module package.name where there is one, else the package."""
    found = set()
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in modules else node.module)
    return found & modules


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle of imports (each reported once, from its first module in sorted order)."""
    cycles, done = [], set()

    def visit(module, path):
        for target in sorted(graph.get(module, ())):
            if target in path:
                cycle = path[path.index(target):]
                if cycle[0] == min(cycle) and cycle not in cycles:
                    cycles.append(cycle)
            elif target not in done:
                visit(target, path + [target])
        done.add(module)

    for module in sorted(graph):
        visit(module, [module])
    return cycles


def test_no_module_imports_itself_back_through_others():
    paths = dict(_modules())
    graph = {module: _module_imports(path, set(paths)) - {module} for module, path in paths.items()}
    assert not import_cycles(graph), import_cycles(graph)
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


WITHOUT_TENSORFLOW = """
import sys
sys.modules["tensorflow"] = None           # `import tensorflow` now raises ImportError, as on a host without it
sys.modules["tensorflow_datasets"] = None
import numpy as np, jax, ml_collections, json
from configs.intensity import synthetic
from meint_jax import tasks
from meint_jax.tasks.intensity.predictor import IntensityEstimator
from meint_jax.training import state as steps

config = synthetic.get_config("size=tiny")
model, tx = tasks.create_model(config), steps.create_optimizer(config.train)
frames = np.random.default_rng(0).integers(0, 255, (4, 8, 32, 32, 3), dtype=np.uint8)
state = steps.init_state(model, tx, frames.shape, seed=0)
train_step, _ = tasks.jit_steps(model, tx, config, donate=False)
state, metrics = train_step(state, {"frames": frames, "targets": np.zeros((4, 8), np.float32)})
assert bool(metrics["finite"])
curve = IntensityEstimator.from_checkpoint(sys.argv[1]).predict(frames[0].repeat(3, axis=0))
assert curve.shape == (24,) and np.isfinite(curve).all()
print("tensorflow" in sys.modules and sys.modules["tensorflow"] is not None)
"""


def test_a_host_without_tensorflow_trains_a_step_and_predicts(tiny_workdir):
    env = dict(os.environ, MEINT_JAX_ALLOCATOR="system", JAX_PLATFORMS="cpu")
    result = subprocess.run([sys.executable, "-c", WITHOUT_TENSORFLOW, tiny_workdir], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "False"


def test_predict_help_works_without_tensorflow():
    code = ("import sys, runpy; sys.modules['tensorflow'] = None; sys.modules['tensorflow_datasets'] = None; "
            "sys.argv = ['meint_jax.predict', '--help']; runpy.run_module('meint_jax.predict', run_name='__main__')")
    env = dict(os.environ, MEINT_JAX_ALLOCATOR="system")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode in (0, 1) and "Traceback" not in result.stderr, result.stderr[-3000:]   # absl: 1
    assert "--checkpoint" in result.stdout and "--face" in result.stdout


LONG_VIDEOS_WITHOUT_TENSORFLOW = """
import sys
sys.modules["tensorflow"] = None
sys.modules["tensorflow_datasets"] = None
from meint_jax.data.long import pipeline as long_pipeline, sources as long_sources, synthetic as synthetic_long
cfg = synthetic_long.LongGeneratorConfig(frame_size=32, min_seconds=2.0, max_seconds=2.0)
script = synthetic_long.script(cfg, 0, 0)
analysis = long_sources.analyse(script, 32, 0, 25)
stored = long_pipeline.StoredVideo(script.video, analysis.flow)
window = long_pipeline.make_window(stored, 0, long_pipeline.LongWindowSpec(length=16))
assert window["features"].shape == (16, 36) and window["targets"].shape == (16, 2)
print("tensorflow" in sys.modules and sys.modules["tensorflow"] is not None)
"""


def test_long_videos_are_generated_analysed_and_windowed_without_tensorflow():
    env = dict(os.environ, MEINT_JAX_ALLOCATOR="system")
    result = subprocess.run([sys.executable, "-c", LONG_VIDEOS_WITHOUT_TENSORFLOW], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("command", ["meint_jax.main", "meint_jax.spot"])
def test_a_command_that_starts_worker_processes_imports_neither_jax_nor_tensorflow_until_it_runs(command):
    # A forkserver worker re-imports the command's module (`python -m` names it) before its first job: heavy
    # imports at the top of the module would cost every worker seconds and hundreds of MB.
    code = (f"import sys; sys.argv = ['{command}']; import {command}; "
            "print(sorted(m for m in ('jax', 'flax', 'tensorflow', 'tensorflow_datasets') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
