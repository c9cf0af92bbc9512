import subprocess

from latte_loadtests import device as device_module
from latte_loadtests.device import cpu_model, detect_device, gpu_from_nvidia_smi


def fake_smi(stdout, returncode=0):
    def run(argv, **kwargs):
        assert argv[0] == "nvidia-smi"
        return subprocess.CompletedProcess(argv, returncode, stdout, "")

    return run


def test_gpu_name_driver_and_count_from_nvidia_smi(monkeypatch):
    monkeypatch.setattr(device_module.shutil, "which", lambda name: "/bin/" + name)
    run = fake_smi("NVIDIA L4, 550.54.15\nNVIDIA L4, 550.54.15\n")
    gpu = detect_device(run=run)
    assert gpu.kind == "gpu"
    assert gpu.key() == "gpu:2x NVIDIA L4 driver 550.54.15"


def test_failing_nvidia_smi_falls_back_to_the_cpu(monkeypatch, tmp_path):
    monkeypatch.setattr(device_module.shutil, "which", lambda name: "/bin/" + name)
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Test CPU @ 2GHz\n")
    found = detect_device(run=fake_smi("", returncode=9), cpuinfo=cpuinfo)
    assert found.kind == "cpu"
    assert found.name == "Test CPU @ 2GHz"
    assert found.as_dict()["key"].startswith("cpu:")


def test_no_nvidia_smi_means_no_gpu(monkeypatch):
    monkeypatch.setattr(device_module.shutil, "which", lambda name: None)
    assert gpu_from_nvidia_smi(run=fake_smi("NVIDIA L4, 1\n")) is None


def test_unreadable_cpuinfo_still_names_something(tmp_path):
    assert cpu_model(tmp_path / "missing")
