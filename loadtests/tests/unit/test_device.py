import subprocess

from latte_loadtests import device as device_module
from latte_loadtests.device import cpu_model, detect_device, gpu_from_nvidia_smi


def fake_smi(stdout, returncode=0):
    def run(argv, **kwargs):
        assert argv[0] == "nvidia-smi"
        return subprocess.CompletedProcess(argv, returncode, stdout, "")

    return run


def test_a_gpu_provider_names_the_gpu_from_nvidia_smi(monkeypatch):
    monkeypatch.setattr(device_module.shutil, "which", lambda name: "/bin/" + name)
    run = fake_smi("NVIDIA L4, 550.54.15\nNVIDIA L4, 550.54.15\n")
    gpu = detect_device(run=run, providers=("CUDAExecutionProvider", "CPUExecutionProvider"))
    assert gpu.kind == "gpu"
    assert gpu.key() == "gpu:2x NVIDIA L4 driver 550.54.15"
    assert gpu.source == "onnxruntime CUDAExecutionProvider,CPUExecutionProvider"


def test_a_gpu_beside_a_cpu_backend_is_not_the_serving_device(monkeypatch, tmp_path):
    monkeypatch.setattr(device_module.shutil, "which", lambda name: "/bin/" + name)
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Test CPU @ 2GHz\n")

    def no_smi(argv, **kwargs):
        raise AssertionError("nvidia-smi must not decide the device of a CPU backend")

    found = detect_device(run=no_smi, cpuinfo=cpuinfo)  # the local backend's real providers
    assert found.kind == "cpu"
    assert found.name == "Test CPU @ 2GHz"
    assert found.source == "onnxruntime CPUExecutionProvider"
    assert found.as_dict()["key"].startswith("cpu:")


def test_no_nvidia_smi_means_no_gpu(monkeypatch):
    monkeypatch.setattr(device_module.shutil, "which", lambda name: None)
    assert gpu_from_nvidia_smi(run=fake_smi("NVIDIA L4, 1\n")) is None


def test_unreadable_cpuinfo_still_names_something(tmp_path):
    assert cpu_model(tmp_path / "missing")
