/**
 * A list's state in the URL: filters, sort, page size and keyset cursor are search params, so a
 * view can be linked to, bookmarked and walked back with the browser's back button.
 *
 * A list declares its params once (`defineUrlState(path, { key: param.…() })`); the same
 * definition reads the raw search params a page receives (unknown or malformed values are dropped,
 * never guessed at) and writes a state back as a stable href (params in declaration order,
 * defaults and empty values left out), so reading an href gives back the state it came from.
 * Pure: used by server pages to parse, by client components to build links (through
 * components/kit/url-state.ts) and by saved views to store a list's view in its canonical form.
 */

/** Search params as Next.js hands them to a page: a repeated key becomes an array. */
export type RawSearchParams = Record<string, string | string[] | undefined>;

/** One search param: how its raw values become a typed value and back. */
export interface UrlParam<T> {
  /** The search param's name, when it differs from the state key ("stuck" for isStuck). */
  readonly key?: string;
  /** The typed value of the raw values (every occurrence, in order), or undefined when absent or invalid. */
  parse(values: readonly string[]): T | undefined;
  /** The raw values to write; an empty list leaves the param out. */
  format(value: T): string[];
  readonly default?: T;
}

/** A param that always has a value: its default when the URL says nothing valid. */
export interface UrlParamWithDefault<T> extends UrlParam<T> {
  readonly default: T;
}

type ValueOf<P> = P extends UrlParam<infer T> ? T : never;
type KeysWithDefault<S> = { [K in keyof S]: S[K] extends { default: unknown } ? K : never }[keyof S];

/** The typed state of a definition: params with a default are always present, others optional. */
export type UrlState<S extends Record<string, UrlParam<unknown>>> = { [K in KeysWithDefault<S>]: ValueOf<S[K]> } & {
  [K in Exclude<keyof S, KeysWithDefault<S>>]?: ValueOf<S[K]>;
};

function firstOf(values: readonly string[]): string | undefined {
  const s = values[0]?.trim();
  return s ? s : undefined;
}

function withKey<P extends UrlParam<unknown>>(p: P, key: string | undefined): P {
  return key ? { ...p, key } : p;
}

function withDefault<T>(p: UrlParam<T>, value: T): UrlParamWithDefault<T> {
  return { ...p, default: value };
}

export const param = {
  /**
   * Free text: the first value, trimmed and cut to `max` characters. With a `pattern`, a value
   * that does not match as a whole is dropped (never cut down until it fits).
   */
  text(opts: { key?: string; max?: number; pattern?: RegExp; transform?: (s: string) => string } = {}): UrlParam<string> {
    const max = opts.max ?? 200;
    return withKey(
      {
        parse(values) {
          const raw = firstOf(values);
          if (raw === undefined) return undefined;
          const s = opts.transform ? opts.transform(raw) : raw;
          if (opts.pattern && !opts.pattern.test(s)) return undefined;
          return s.slice(0, max);
        },
        format: (v) => (v ? [v] : []),
      },
      opts.key,
    );
  },

  /** One of a fixed set of strings. */
  oneOf<const T extends string>(options: readonly T[], opts: { key?: string } = {}): UrlParam<T> {
    return withKey(
      {
        parse(values) {
          const s = firstOf(values);
          return s !== undefined && (options as readonly string[]).includes(s) ? (s as T) : undefined;
        },
        format: (v) => [v],
      },
      opts.key,
    );
  },

  /** One of a fixed set of whole numbers (page sizes). */
  int<const T extends number>(options: readonly T[], opts: { key?: string } = {}): UrlParam<T> {
    return withKey(
      {
        parse(values) {
          const s = firstOf(values);
          if (s === undefined || !/^\d{1,6}$/.test(s)) return undefined;
          const n = Number(s);
          return (options as readonly number[]).includes(n) ? (n as T) : undefined;
        },
        format: (v) => [String(v)],
      },
      opts.key,
    );
  },

  /**
   * Any number of a fixed set of strings, as repeated params or comma-separated. Read in the
   * order of `options`, so the same selection always gives the same URL; empty by default.
   */
  many<const T extends string>(options: readonly T[], opts: { key?: string } = {}): UrlParamWithDefault<T[]> {
    return withKey(
      {
        parse(values) {
          const picked = new Set(values.flatMap((v) => v.split(",")).map((v) => v.trim()));
          return options.filter((o) => picked.has(o));
        },
        format: (v) => [...v],
        default: [] as T[],
      },
      opts.key,
    );
  },

  /** An on/off switch written as `key=1`; off by default and then left out. */
  flag(opts: { key?: string } = {}): UrlParamWithDefault<boolean> {
    return withKey({ parse: (values) => firstOf(values) === "1", format: (v) => (v ? ["1"] : []), default: false }, opts.key);
  },

  /** A server-issued keyset cursor: opaque, but only URL-safe characters are accepted. */
  cursor(opts: { key?: string; pattern?: RegExp; max?: number } = {}): UrlParam<string> {
    return param.text({ key: opts.key, max: opts.max ?? 500, pattern: opts.pattern ?? /^[A-Za-z0-9_.:-]+$/ });
  },

  /**
   * A sort: `column_asc` or `column_desc` for one of the sortable columns. The value is
   * TanStack Table's sorting shape (`{ id, desc }`), so a DataTable's header reads and writes it.
   */
  sort<const C extends string>(columns: readonly C[], opts: { key?: string } = {}): UrlParam<SortState<C>> {
    return withKey(
      {
        parse(values) {
          const m = /^(.+)_(asc|desc)$/.exec(firstOf(values) ?? "");
          if (!m || !(columns as readonly string[]).includes(m[1]!)) return undefined;
          return { id: m[1] as C, desc: m[2] === "desc" };
        },
        format: (v) => [formatSort(v)],
      },
      opts.key,
    );
  },

  withDefault,
};

/** A server-side sort on one column. */
export interface SortState<C extends string = string> {
  id: C;
  desc: boolean;
}

export function formatSort(s: SortState): string {
  return `${s.id}_${s.desc ? "desc" : "asc"}`;
}

/** Every raw value of `key`, in order (Next gives one value as a string, several as an array). */
function valuesOf(raw: RawSearchParams, key: string): string[] {
  const v = raw[key];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export interface UrlStateDefinition<S extends Record<string, UrlParam<unknown>>> {
  readonly path: string;
  readonly params: S;
  /** The typed state of raw search params: known params only, invalid values dropped, defaults filled in. */
  read(raw: RawSearchParams): UrlState<S>;
  /** The search string of a (partial) state, without "?": declaration order, defaults and empty values left out. */
  query(state: Partial<UrlState<S>>): string;
  /** The path with the query of `state`. */
  href(state: Partial<UrlState<S>>): string;
}

export function defineUrlState<S extends Record<string, UrlParam<unknown>>>(path: string, params: S): UrlStateDefinition<S> {
  const entries = Object.entries(params) as [keyof S & string, UrlParam<unknown>][];
  const query = (state: Partial<UrlState<S>>): string => {
    const q = new URLSearchParams();
    for (const [name, p] of entries) {
      const value = (state as Record<string, unknown>)[name];
      if (value === undefined || value === null) continue;
      const written = p.format(value);
      if (p.default !== undefined && sameValues(written, p.format(p.default))) continue;
      for (const v of written) if (v !== "") q.append(p.key ?? name, v);
    }
    return q.toString();
  };
  return {
    path,
    params,
    read(raw) {
      const out: Record<string, unknown> = {};
      for (const [name, p] of entries) {
        const value = p.parse(valuesOf(raw, p.key ?? name));
        if (value !== undefined) out[name] = value;
        else if (p.default !== undefined) out[name] = p.default;
      }
      return out as UrlState<S>;
    },
    query,
    href(state) {
      const s = query(state);
      return s ? `${path}?${s}` : path;
    },
  };
}

/** Raw search params from a URL's query string, as Next.js would hand them to the page. */
export function rawSearchParams(search: string | URLSearchParams): RawSearchParams {
  const raw: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(search)) {
    const had = raw[k];
    raw[k] = had === undefined ? v : [...(Array.isArray(had) ? had : [had]), v];
  }
  return raw;
}

/**
 * The query string a filter form's fields make: values trimmed, empty ones left out (an "Any …"
 * select, a blank field), repeated names kept in form order, files ignored. The keyset cursor is
 * not a field, so applying filters always starts from the first page.
 */
export function filterQuery(entries: Iterable<[string, unknown]>): string {
  const q = new URLSearchParams();
  for (const [k, v] of entries) if (typeof v === "string" && v.trim() !== "") q.append(k, v.trim());
  return q.toString();
}

/**
 * The canonical search string (without "?") of a query string for a list: read with its
 * definition (unknown params and malformed values dropped, defaults filled in) and written back in
 * declaration order, defaults left out, without the params named in `omit` (a keyset cursor: a
 * view that is kept starts from the first page). Reading the result gives the same state again.
 */
export function canonicalQuery<S extends Record<string, UrlParam<unknown>>>(definition: UrlStateDefinition<S>, search: string, omit: readonly (keyof S & string)[] = []): string {
  const state: Partial<UrlState<S>> = definition.read(rawSearchParams(search.startsWith("?") ? search.slice(1) : search));
  for (const name of omit) delete (state as Record<string, unknown>)[name];
  return definition.query(state);
}
