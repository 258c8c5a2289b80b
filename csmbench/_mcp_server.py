"""An MCP server offering csmbench's measurement tools on local files (``csmbench mcp``).

Every tool of the registry becomes an MCP tool with the same name, description and input
schema, except that its attachment arguments (``AttachmentId``, "img0" in an episode) take a
local file path. A call runs through ``ToolContext.from_files`` and ``ToolRegistry.call``,
the code the env uses, so files are read and arguments validated as in an episode. Files a
tool writes (the grain overlay) go to one output folder and their absolute paths are
returned. A tool's mistake (``ToolError``: bad argument, missing file, unusable input)
becomes an MCP tool error (``isError``) carrying the tool's message.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from csmbench import __version__
from csmbench.episodes import ToolCall, ToolResult
from csmbench.errors import CSMBenchError, ToolError
from csmbench.tools import REGISTRY, ToolContext, ToolRegistry, ToolSpec

try:
    import anyio
    from mcp import types
    from mcp.server import Server, ServerRequestContext
    from mcp.server.stdio import stdio_server
except ModuleNotFoundError as missing:  # the optional extra is not installed
    if (missing.name or "").split(".")[0] not in ("mcp", "mcp_types"):
        raise
    raise CSMBenchError("the MCP server needs the mcp package: pip install 'csmbench[mcp]'"
                        ) from missing

__all__ = ["LocalFiles", "build_server", "run_tool", "serve_stdio", "tool_definition"]

SERVER_NAME = "csmbench"
"""The name the server gives MCP clients (they show it beside the tool names)."""
INSTRUCTIONS = (
    "csmbench measurement tools for materials science (scale bars, grain size, XRD peaks, "
    "lattice fits, phase identification, EDS, crystal and Hall-Petch lookups). Arguments "
    "that name a micrograph, pattern or spectrum take a path to a local file; files a tool "
    "writes (overlays) are saved on the server's machine and their paths are returned."
)
"""What the server tells a client's model about itself."""
_ATTACHMENT_LEAD = re.compile(r"^Attachment id of\s+")
"""The start of an attachment argument's description ("Attachment id of the micrograph")."""
_EXAMPLE_ID = re.compile(r",?\s*e\.g\.\s*\"[^\"]*\"\.?\s*$")
"""The example id at its end (', e.g. "img0".'), wrong for a file path."""


@dataclass(frozen=True)
class LocalFiles:
    """Which local files tools may read, and where the files they write go.

    Args:
        output_dir: Folder for files tools write (created when needed).
        root: When set, only files inside this folder may be read, and relative paths
            start there; otherwise relative paths start in the server's working folder.
    """

    output_dir: Path
    root: Path | None = None

    @classmethod
    def create(cls, output_dir: str | Path | None = None,
               root: str | Path | None = None) -> LocalFiles:
        """Check the folders: ``root`` must exist; no ``output_dir`` makes a new temporary one.

        Raises:
            CSMBenchError: ``root`` is not an existing folder.
        """
        if root is not None and not Path(root).expanduser().is_dir():
            raise CSMBenchError(f"--root {str(root)!r} is not an existing folder")
        out = (Path(output_dir).expanduser() if output_dir is not None
               else Path(tempfile.mkdtemp(prefix="csmbench-mcp-")))
        return cls(out.resolve(), Path(root).expanduser().resolve() if root is not None else None)

    def where(self) -> str:
        """Where relative paths start, for schema descriptions."""
        return str(self.root) if self.root is not None else "the server's working folder"

    def resolve(self, argument: str, value: Any) -> Path:
        """The file an attachment argument names, checked to exist (and to lie under root).

        Raises:
            ToolError: The value is not a path, the file is missing, or it lies outside root.
        """
        if not isinstance(value, str) or not value.strip() or "\0" in value:
            raise ToolError(f"{argument}: expected the path of a local file (a string), got "
                            f"{json.dumps(value)[:80]}")
        path = Path(os.path.expanduser(value))  # unlike Path.expanduser, never raises
        path = ((self.root or Path.cwd()) / path if not path.is_absolute() else path).resolve()
        if self.root is not None and not path.is_relative_to(self.root):
            raise ToolError(f"{argument}: file {value!r} lies outside the folder this server "
                            f"may read ({self.root}); pass a path inside it")
        if not path.is_file():
            kind = "is a folder, not a file" if path.is_dir() else "does not exist"
            raise ToolError(f"{argument}: {value!r} {kind} (looked for {path}); pass the path "
                            "of an existing file")
        return path


def tool_definition(spec: ToolSpec, files: LocalFiles) -> types.Tool:
    """The MCP tool of a registry tool: its schema, with attachment ids turned into paths."""
    function = spec.openai_schema()["function"]
    schema = copy.deepcopy(function["parameters"])
    for name in spec.attachment_params:
        prop = schema["properties"][name]
        prop["description"] = _path_description(prop.get("description", ""), files)
    return types.Tool(name=spec.name, description=function["description"], input_schema=schema)


def _path_description(text: str, files: LocalFiles) -> str:
    """'Attachment id of the micrograph, e.g. "img0".' -> 'Path of the local file of the
    micrograph: absolute, or relative to ...'."""
    what = _EXAMPLE_ID.sub("", text).rstrip(". ")
    lead = (_ATTACHMENT_LEAD.sub("Path of the local file of ", what) if _ATTACHMENT_LEAD.match(what)
            else f"Path of a local file ({what})" if what else "Path of a local file")
    inside = f"; it must lie inside {files.root}" if files.root is not None else ""
    return f"{lead}: absolute, or relative to {files.where()}{inside}."


def run_tool(name: str, arguments: Mapping[str, Any] | None, files: LocalFiles,
             registry: ToolRegistry = REGISTRY) -> ToolResult:
    """Run tool ``name`` on local files, as the env runs it on attachments.

    Attachment arguments are file paths; each file becomes an attachment whose id is its
    argument's name. Paths of files the tool wrote are made absolute in the result.
    Never raises for a bad call: the error is in the returned ``ToolResult``.
    """
    arguments = dict(arguments or {})
    try:
        spec = registry.get(name)
        paths = {key: files.resolve(key, arguments[key])
                 for key in spec.attachment_params if key in arguments}
        context = ToolContext.from_files(paths, files.output_dir)
    except CSMBenchError as error:
        return ToolResult(call_id="mcp", name=name, ok=False, error=str(error))
    arguments.update({key: key for key in paths})  # each file's attachment id is its argument
    result = registry.call(ToolCall(id="mcp", name=name, arguments=arguments), context)
    written = [p for p in context.written if p.is_file() and p.stat().st_size > 0]
    if not result.ok or not written:
        return result
    return result.model_copy(update={"content": _absolute(result.content,
                                                           _shown_paths(written, context))})


def _shown_paths(written: list[Path], context: ToolContext) -> dict[str, str]:
    """How a tool may have named each file it wrote (relative to the output folder or its
    parent, as the env shows them), mapped to the absolute path."""
    shown = {}
    for path in written:
        for base in (context.output_dir, context.output_dir.parent):
            shown[path.relative_to(base).as_posix()] = str(path)
    return shown


def _absolute(content: Any, shown: Mapping[str, str]) -> Any:
    """``content`` with every string naming a written file replaced by its absolute path."""
    if isinstance(content, str):
        return shown.get(content, content)
    if isinstance(content, dict):
        return {key: _absolute(value, shown) for key, value in content.items()}
    if isinstance(content, list):
        return [_absolute(value, shown) for value in content]
    return content


def _call_result(result: ToolResult) -> types.CallToolResult:
    """The MCP form of a tool result: JSON as text and as structured content, or an error."""
    if not result.ok:
        return types.CallToolResult(content=[types.TextContent(text=result.error or "failed")],
                                    is_error=True)
    structured = result.content if isinstance(result.content, dict) else {"result": result.content}
    text = json.dumps(result.content, ensure_ascii=False)
    return types.CallToolResult(content=[types.TextContent(text=text)],
                                structured_content=structured)


def build_server(files: LocalFiles, registry: ToolRegistry = REGISTRY) -> Server[Any]:
    """A low-level MCP server listing ``registry``'s tools and running them on local files."""
    tools = [tool_definition(registry.get(name), files) for name in registry.names]

    async def list_tools(ctx: ServerRequestContext[Any],
                         params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def call_tool(ctx: ServerRequestContext[Any],
                        params: types.CallToolRequestParams) -> types.CallToolResult:
        run = functools.partial(run_tool, params.name, params.arguments, files, registry)
        return _call_result(await anyio.to_thread.run_sync(run))  # tools are CPU-bound

    return Server(SERVER_NAME, version=__version__, instructions=INSTRUCTIONS,
                  on_list_tools=list_tools, on_call_tool=call_tool)


def serve_stdio(files: LocalFiles, registry: ToolRegistry = REGISTRY) -> None:
    """Serve the tools over stdin/stdout until the client closes the connection."""
    server = build_server(files, registry)

    async def main() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(main)
