"""Config resources: pydantic models loaded from a JSON file and injected into steps.

Declared as ``Annotated[Model, ResourceConfig("config.json", path_selector="llm")]``;
the model class is the annotated type. Like every resource, a config value is
never journaled: its key (the file as written plus the selector) is, and a
resumed run loads the file again.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from pydantic import BaseModel

if TYPE_CHECKING:
    from . import ResourceDescriptor, ResourceManager

ModelT = TypeVar("ModelT", bound=BaseModel)


def _load_json_section(path: str, path_selector: str | None) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        data: Any = json.load(f)
    if path_selector is None:
        return cast(dict[str, Any], data)
    walked = ""
    for key in path_selector.split("."):
        walked = f"{walked}.{key}" if walked else key
        data = data.get(key) if isinstance(data, dict) else None
        if not isinstance(data, dict):
            raise ValueError(
                f"Expected dictionary for configuration from {path} at path {walked}, "
                f"got: {type(data)}"
            )
    return cast(dict[str, Any], data)


class _ResourceConfig(Generic[ModelT]):
    """Descriptor for a pydantic model loaded from a JSON file; see :func:`ResourceConfig`.

    Always cached. Its key is the config file as written plus ``.path_selector``.
    """

    def __init__(
        self,
        config_file: str | os.PathLike[str],
        path_selector: str | None = None,
        cls_factory: type[ModelT] | None = None,
        label: str | None = None,
        description: str | None = None,
    ) -> None:
        config_file = os.fspath(config_file)  # a pathlib.Path is kept as its text (journaled key)
        if Path(config_file).suffix != ".json":
            raise ValueError("Only JSON files can be used to load Pydantic-based resources.")
        self._original_config_file = config_file
        self._resolved_config_file: str | None = None
        self.path_selector = path_selector
        self.cls_factory = cls_factory
        self.label = label
        self.description = description

    def __repr__(self) -> str:
        return f"ResourceConfig({self.name})"

    @property
    def config_file(self) -> str:
        """Absolute path of the config file; raises ``FileNotFoundError`` if it is missing."""
        if self._resolved_config_file is None:
            path = Path(self._original_config_file)
            if not path.is_file():
                raise FileNotFoundError(f"No such file: {self._original_config_file}")
            self._resolved_config_file = str(path.resolve())
        return self._resolved_config_file

    @property
    def name(self) -> str:
        """Stable key: the config file as given, plus ``.path_selector`` when set."""
        if self.path_selector is None:
            return self._original_config_file
        return f"{self._original_config_file}.{self.path_selector}"

    @property
    def cache(self) -> bool:
        """Config resources are always cached."""
        return True

    def call(self) -> ModelT:
        """Read the file and validate the selected section into the model (blocking).

        Raises:
            FileNotFoundError: The file does not exist.
            ValueError: The path selector does not lead to an object, or no
                model class is known yet.
            pydantic.ValidationError: The data does not fit the model.
        """
        data = _load_json_section(self.config_file, self.path_selector)
        if self.cls_factory is None:
            raise ValueError("Class factory should be set to a BaseModel subclass before calling")
        return self.cls_factory.model_validate(data)

    async def resolve(self, manager: ResourceManager) -> ModelT:
        """Load the model in a worker thread so file I/O never blocks the event loop."""
        return await asyncio.to_thread(self.call)

    def set_type_annotation(self, type_annotation: Any) -> None:
        """Use ``T`` of ``Annotated[T, ResourceConfig(...)]`` as the model, unless one is set."""
        if self.cls_factory is None and isinstance(type_annotation, type):
            self.cls_factory = cast(type[ModelT], type_annotation)

    def set_localns(self, localns: dict[str, Any] | None) -> None:
        """Config resources have no annotations to resolve."""

    def get_dependencies(self) -> list[tuple[str, ResourceDescriptor, Any]]:
        """Config resources depend on nothing."""
        return []


def ResourceConfig(  # noqa: N802
    config_file: str | os.PathLike[str],
    path_selector: str | None = None,
    label: str | None = None,
    description: str | None = None,
) -> _ResourceConfig[Any]:
    """Declare a resource that is a pydantic model loaded from a JSON file.

    The model class is the ``T`` of ``Annotated[T, ResourceConfig(...)]``.

    Args:
        config_file: Path of a ``.json`` file (relative paths are resolved
            against the working directory when first loaded).
        path_selector: Dot-separated keys selecting a nested object, e.g.
            ``"llm.openai"``; None uses the whole document.
        label: Short display name.
        description: Longer explanation of the configuration.

    Returns:
        A cached descriptor to place in ``Annotated[Model, ...]``.

    Raises:
        ValueError: ``config_file`` does not end in ``.json``.
    """
    return _ResourceConfig(
        config_file=config_file,
        path_selector=path_selector,
        label=label,
        description=description,
    )
