/**
 * A Dockerfile as the parser gives it and the builder reads it: text in, these values out.
 * Words are kept as written (variables not yet expanded): expansion needs the ARG and ENV
 * values in scope at that instruction, which only the builder knows (see `expand` in words.ts).
 */

/** Where an instruction is in the Dockerfile, 1-based and inclusive, for errors and step lines. */
export interface SourceRange {
  startLine: number;
  endLine: number;
}

/** A here-document attached to an instruction (`RUN <<EOF`, `COPY <<EOF /file`). */
export interface Heredoc {
  /** The word after `<<` with quotes removed (`EOF`). */
  name: string;
  /** The body, each line ending in `\n`; with `<<-`, leading tabs are stripped. */
  content: string;
  /** `<<"EOF"` or `<<'EOF'`: the body is not expanded. Unquoted: `$var` in it is expanded (RUN leaves that to the shell). */
  quoted: boolean;
  /** `<<-EOF`. */
  chomp: boolean;
}

/** `--name=value` flags before an instruction's arguments, in order; `--link` alone has value 'true'. */
export interface Flag {
  name: string;
  value: string;
  /** False when written without `=` (`--link`); BuildKit then rejects it for flags that need a value. Absent means true. */
  hasValue?: boolean;
}

/**
 * One instruction, after line continuations, comments and heredocs are resolved.
 * `keyword` is lower case; `original` is the instruction text as Docker's step line shows it
 * (continuations joined, heredoc bodies left out, flags kept).
 */
export interface RawInstruction {
  keyword: string;
  flags: Flag[];
  /** Everything after the keyword and its flags, continuations joined with nothing between (Docker's rule). */
  rest: string;
  /** The JSON array when `rest` is one (`["a","b"]`); undefined for the shell form. */
  json?: string[];
  heredocs: Heredoc[];
  original: string;
  range: SourceRange;
}

export interface Dockerfile {
  /** Parser directives that were read (`syntax`, `escape`, `check`), lower-case keys. */
  directives: Record<string, string>;
  /** The escape character in effect: `\` or `` ` ``. */
  escape: string;
  /** Instructions in order; `ARG`s before the first FROM are among them. */
  instructions: RawInstruction[];
  /** Non-fatal problems worth a warning line (an empty continuation line, an unknown directive). */
  warnings: string[];
}

// ------------------------------------------------------------------ typed instructions

/** A command in the form it was written: the shell form is run by the stage's SHELL. */
export type CommandForm = { form: 'json'; args: string[] } | { form: 'shell'; text: string };

export interface FromInstruction {
  kind: 'from';
  /** Unexpanded: ARGs declared before the first FROM apply (`FROM base:${VERSION}`). */
  image: string;
  /** `AS name`, lower-cased as Docker does. */
  alias?: string;
  platform?: string;
}

/** `RUN --mount=...`, parsed; values unexpanded. */
export interface RunMount {
  type: 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';
  target?: string;
  source?: string;
  /** A stage name or index, or an image, for bind and cache. */
  from?: string;
  readonly: boolean;
  /** cache: the cache's ID (default: the target); secret: the secret's ID. */
  id?: string;
  /** cache: shared | private | locked. */
  sharing?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  required?: boolean;
  env?: string;
}

export interface RunInstruction {
  kind: 'run';
  command: CommandForm;
  mounts: RunMount[];
  /** `--network=default|none|host`. */
  network?: string;
  /** A heredoc given as the command's script (`RUN <<EOF ... EOF`) is in `command`; the others are files for it. */
  heredocs: Heredoc[];
}

/** COPY and ADD share the shape; ADD alone may name URLs and auto-extracts local tars. */
export interface CopyInstruction {
  kind: 'copy' | 'add';
  /** Unexpanded source words; may hold wildcards. Heredoc sources are in `heredocs`. */
  sources: string[];
  dest: string;
  heredocs: Heredoc[];
  from?: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  exclude: string[];
  /** ADD --checksum=sha256:... for a URL source. */
  checksum?: string;
  /** ADD --keep-git-dir. */
  keepGitDir?: boolean;
  /** ADD --unpack[=false]: set only when given (the default depends on the source). */
  unpack?: boolean;
  parents: boolean;
}

export interface CmdInstruction {
  kind: 'cmd' | 'entrypoint';
  command: CommandForm;
}

/** ENV and LABEL: `k=v k2=v2`, or the legacy `ENV k v` (one pair, the rest of the line). Unexpanded. */
export interface KeyValueInstruction {
  kind: 'env' | 'label';
  pairs: { key: string; value: string }[];
}

export interface ArgInstruction {
  kind: 'arg';
  /** `ARG a b=1`: several are allowed; a default is unexpanded. */
  args: { name: string; default?: string }[];
}

/** One unexpanded word: WORKDIR, USER, STOPSIGNAL, MAINTAINER. */
export interface WordInstruction {
  kind: 'workdir' | 'user' | 'stopsignal' | 'maintainer';
  value: string;
}

export interface ListInstruction {
  kind: 'expose' | 'volume';
  /** Unexpanded words; VOLUME also takes a JSON array. */
  values: string[];
}

export interface ShellInstruction {
  kind: 'shell';
  /** JSON form only, as Docker requires. */
  shell: string[];
}

export interface HealthcheckInstruction {
  kind: 'healthcheck';
  /** `HEALTHCHECK NONE` gives `{ none: true }`. */
  none: boolean;
  /** `CMD` as JSON or shell form; absent with `none`. */
  command?: CommandForm;
  /** Durations as written (`30s`); the builder converts them to nanoseconds. */
  interval?: string;
  timeout?: string;
  startPeriod?: string;
  startInterval?: string;
  retries?: number;
}

export interface OnbuildInstruction {
  kind: 'onbuild';
  /** The trigger as written (`RUN echo hi`), kept verbatim in the image's OnBuild. */
  trigger: string;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CopyInstruction
  | CmdInstruction
  | KeyValueInstruction
  | ArgInstruction
  | WordInstruction
  | ListInstruction
  | ShellInstruction
  | HealthcheckInstruction
  | OnbuildInstruction;

/** A typed instruction with where it came from. */
export type Located<T extends Instruction = Instruction> = T & { raw: RawInstruction };

/** A stage: a FROM and what follows it up to the next FROM. */
export interface Stage {
  /** 0-based position among the stages. */
  index: number;
  from: Located<FromInstruction>;
  /** The instructions after FROM, in order. */
  steps: Located[];
}

/** What the builder takes: the ARGs before the first FROM, and the stages. */
export interface ParsedDockerfile {
  directives: Record<string, string>;
  escape: string;
  /** ARGs before the first FROM: they may be used in FROM lines, and re-declared in a stage. */
  metaArgs: Located<ArgInstruction>[];
  stages: Stage[];
  warnings: string[];
}
