"""`nimctl k8s render`: the profile `up` uses, as NIM Operator resources (documents on stdout)."""

from __future__ import annotations

from typing import Annotated

import typer

from nimctl.cli import options as opt
from nimctl.cli.guard import guarded
from nimctl.errors import ConfigError

app = opt.command_group("Run a profile on Kubernetes with NVIDIA's NIM Operator.")

OUTPUT_FORMATS = ("yaml", "json")


@app.command("render")
@guarded
@opt.uses_settings(
    "k8s render",
    gpus="GPUs per replica: a count, or none.",
    user="uid:gid of the cache job and the NIM (default 1000:1000).",
)
def render(
    options: opt.SettingValues,
    namespace: Annotated[
        str | None, typer.Option("--namespace", help="Namespace of the resources (default: kubectl's).")
    ] = None,
    replicas: Annotated[
        int, typer.Option("--replicas", help="NIM replicas (more than 1 needs a RWX storage class).")
    ] = 1,
    storage_class: Annotated[
        str | None,
        typer.Option("--storage-class", help="StorageClass of the model cache PVC (default: the cluster's)."),
    ] = None,
    cache_size: Annotated[
        str | None,
        typer.Option("--cache-size", help="Model cache PVC size, e.g. 200Gi or 200GB (default: min_free_disk_gb)."),
    ] = None,
    pull_secret: Annotated[
        str, typer.Option("--pull-secret", help="Secret with the registry login (docker-registry).")
    ] = "ngc-secret",
    auth_secret: Annotated[str, typer.Option("--auth-secret", help="Secret with NGC_API_KEY.")] = "ngc-api-secret",
    service_type: Annotated[
        str, typer.Option("--service-type", help="ClusterIP | NodePort | LoadBalancer.")
    ] = "ClusterIP",
    model_profile: Annotated[
        str | None,
        typer.Option("--model-profile", help="NIM model profile id to cache and serve (default: the operator picks)."),
    ] = None,
    output: Annotated[str, typer.Option("--output", "-o", help="yaml (multi-document) | json (a list).")] = "yaml",
) -> None:
    """Print a NIMCache and a NIMService for the profile; pipe them to `kubectl apply -f -`."""
    import sys

    from nimctl.cli.output import console
    from nimctl.k8s.render import RenderOptions, secret_commands, to_text
    from nimctl.k8s.render import render as render_resources
    from nimctl.settings import load_options as load

    if output not in OUTPUT_FORMATS:
        raise ConfigError(f"invalid --output {output!r}", hint="use -o yaml or -o json")
    loaded = load("k8s render", options)
    options = RenderOptions(
        namespace=namespace,
        replicas=replicas,
        storage_class=storage_class,
        cache_size=cache_size,
        pull_secret=pull_secret,
        auth_secret=auth_secret,
        service_type=service_type,
        model_profile=model_profile,
    )
    text = to_text(render_resources(loaded.settings, loaded.profile.name, options), output, loaded.settings)
    sys.stdout.write(text)
    sys.stdout.flush()
    out = console()
    out.print("Create the two Secrets the resources name once, before `kubectl apply`:", highlight=False)
    for command in secret_commands(loaded.settings, options):
        out.print(f"  {command}", markup=False, highlight=False, soft_wrap=True)
