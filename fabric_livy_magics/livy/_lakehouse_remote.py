"""Code that runs inside the remote PySpark REPL for ``livy/lakehouse.py``; never imported locally.

``lakehouse.py`` reads this file as text and ships it with each call; the remote side executes
it in a private namespace and calls ``main(ns, spec)``, where ``ns`` is the REPL's namespace and
``spec`` a JSON-decoded dict. Standard library and pyspark only; Python 3.8+ (Spark clusters).

Each call prints one framed record, the same frame the transfer protocol uses::

    <<<flm:{id}:begin>>>
    {header JSON, one line}

    <<<flm:{id}:end>>>

Table names, column names, SQL text and parameter values arrive as JSON values: none of them is
pasted into code, and SQL parameters go to ``spark.sql(query, args=...)``, never into the text.
"""

import base64
import datetime
import decimal
import importlib
import json
import sys

_EPOCH_UTC = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


class Failure(Exception):
    """A failure to report as one line: ename and evalue."""

    def __init__(self, ename, evalue):
        Exception.__init__(self, evalue)
        self.ename = ename
        self.evalue = evalue


def main(ns, spec):
    try:
        header = OPS[spec["op"]](ns, spec)
        header["ok"] = True
    except Failure as exc:
        header = {"ok": False, "ename": exc.ename, "evalue": exc.evalue}
    except Exception as exc:  # reported, not swallowed: the client raises StatementFailed
        header = {"ok": False, "ename": type(exc).__name__, "evalue": _first_lines(str(exc))}
    sys.stdout.write("<<<flm:%s:begin>>>\n%s\n\n<<<flm:%s:end>>>\n"
                     % (spec["id"], json.dumps(header, separators=(",", ":"), default=str), spec["id"]))
    sys.stdout.flush()


def _first_lines(text, limit=1500):
    text = text.strip()
    # JVM stack frames after the message help nobody in a notebook
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("at ")]
    text = "\n".join(lines).strip()
    return text if len(text) <= limit else text[:limit] + " ..."


def _spark(ns):
    spark = ns.get("spark")
    if spark is None:
        from pyspark.sql import SparkSession

        spark = SparkSession.getActiveSession()
    return spark


def _quote(name):
    """A dotted name as backquoted identifier parts: text never becomes SQL syntax."""
    return ".".join("`" + part.replace("`", "``") + "`" for part in name.split("."))


def _literal(text):
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _table(spark, name):
    try:
        return spark.table(name)
    except Exception as exc:
        raise Failure("TableNotFound", "no table or view named %r (%s)"
                      % (name, _first_lines(str(exc), 300).splitlines()[0]))


# --------------------------------------------------------------------------- browse


def _tables(ns, spec):
    spark = _spark(ns)
    database = spec.get("database") or spark.catalog.currentDatabase()
    pattern = spec.get("like") or "*"
    rows, note = [], None
    try:
        found = spark.sql("SHOW TABLE EXTENDED IN %s LIKE %s" % (_quote(database), _literal(pattern))).collect()
    except Exception as exc:
        if not spark.catalog.databaseExists(database):
            raise Failure("DatabaseNotFound", "no database named %r: `%%livy tables` lists the "
                          "current one" % database)
        found = None
        note = "format and location unavailable: " + _first_lines(str(exc), 200).splitlines()[0]
    if found is not None:
        for row in found:
            info = _info(row["information"])
            temporary = bool(row["isTemporary"])
            rows.append([row["tableName"], None if temporary else row["namespace"],
                         "TEMPORARY VIEW" if temporary else info.get("Type"),
                         info.get("Provider"), info.get("Location"), temporary])
    else:  # a catalog without SHOW TABLE EXTENDED: names and types only
        import fnmatch

        wanted = [p.strip().lower() for p in pattern.split("|")]
        for table in spark.catalog.listTables(database):
            if any(fnmatch.fnmatchcase(table.name.lower(), p) for p in wanted):
                rows.append([table.name, None if table.isTemporary else database,
                             "TEMPORARY VIEW" if table.isTemporary else table.tableType,
                             None, None, bool(table.isTemporary)])
    rows.sort(key=lambda r: (r[5], r[0]))
    return {"database": database, "columns": ["table", "database", "type", "format", "location", "temporary"],
            "rows": rows, "note": note}


def _info(text):
    info = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition(": ")
        if sep and key and not key.startswith(" ") and key not in info:
            info[key] = value.strip()
    return info


def _describe(ns, spec):
    spark = _spark(ns)
    name = spec["table"]
    df = _table(spark, name)
    meta = {}
    try:
        entry = spark.catalog.getTable(name)
        meta = {"type": "TEMPORARY VIEW" if entry.isTemporary else entry.tableType,
                "temporary": bool(entry.isTemporary)}
        parts = [p for p in [entry.catalog] + list(entry.namespace or []) + [entry.name] if p]
        if not entry.isTemporary:
            qualified = ".".join("`" + p.replace("`", "``") + "`" for p in parts)
            details = {r[0].strip(): (r[1] or "").strip()
                       for r in spark.sql("DESCRIBE TABLE EXTENDED " + qualified).collect() if r[0]}
            meta.update(format=details.get("Provider"), location=details.get("Location"),
                        name=".".join(parts))
    except Exception:  # noqa: BLE001 - details are "where known"; the schema below is what matters
        pass
    extra = {}
    try:
        for column in spark.catalog.listColumns(name):
            extra[column.name] = (bool(column.isPartition), column.description)
    except Exception:  # noqa: BLE001 - some views and catalogs do not list columns
        pass
    rows = [[f.name, f.dataType.simpleString(), bool(f.nullable), extra.get(f.name, (False, None))[0],
             extra.get(f.name, (False, None))[1] or (f.metadata or {}).get("comment")]
            for f in df.schema.fields]
    header = {"columns": ["column", "type", "nullable", "partition", "comment"], "rows": rows,
              "partitioned_by": [r[0] for r in rows if r[3]], **meta}
    if spec.get("count"):
        header["row_count"] = df.count()
    return header


# --------------------------------------------------------------------------- read and write


def _read(ns, spec):
    df = _table(_spark(ns), spec["table"])
    if spec.get("columns"):
        missing = [c for c in spec["columns"] if c not in df.columns]
        if missing:
            raise Failure("ColumnNotFound", "%s has no column %s; it has %s"
                          % (spec["table"], ", ".join(missing), ", ".join(df.columns)))
        df = df.select(*[df[c] for c in spec["columns"]])
    if spec.get("where"):
        try:
            df = df.where(spec["where"])
        except Exception as exc:
            raise Failure("BadWhere", "--where %r: %s" % (spec["where"], _first_lines(str(exc), 600)))
    ns[spec["keep"]] = df
    return {"columns": list(df.columns)}


_WIDER = {("tinyint", "smallint"), ("tinyint", "int"), ("tinyint", "bigint"), ("smallint", "int"),
          ("smallint", "bigint"), ("int", "bigint"), ("float", "double")}


def _write(ns, spec):
    spark = _spark(ns)
    df = ns.pop(spec["source"])
    table, mode = spec["table"], spec["mode"]
    exists = spark.catalog.tableExists(table)
    if exists and mode == "error":
        raise Failure("TableExists", "table %s already exists: use --mode append to add rows "
                      "or --mode overwrite to replace it" % table)
    if exists and mode == "append":
        _check_append(table, spark.table(table).schema, df.schema)
    writer = df.write.mode({"error": "errorifexists"}.get(mode, mode))
    if spec.get("format"):
        writer = writer.format(spec["format"])
    if spec.get("partition_by"):
        writer = writer.partitionBy(*spec["partition_by"])
    writer.saveAsTable(table)
    return {"existed": exists, "schema": df.schema.simpleString()}


def _check_append(table, existing, incoming):
    have = {f.name.lower(): f.dataType.simpleString() for f in existing.fields}
    new = {f.name.lower(): f.dataType.simpleString() for f in incoming.fields}
    problems = []
    missing = [n for n in have if n not in new]
    extra = [n for n in new if n not in have]
    if missing:
        problems.append("missing " + ", ".join(missing))
    if extra:
        problems.append("not in the table: " + ", ".join(extra))
    for n in have:
        if n in new and have[n] != new[n] and (new[n], have[n]) not in _WIDER:
            problems.append("%s is %s in the table but %s here" % (n, have[n], new[n]))
    if problems:
        raise Failure("SchemaMismatch", "cannot append to %s: %s. Align the DataFrame (astype, "
                      "rename, drop) or use --mode overwrite to replace the table"
                      % (table, "; ".join(problems)))


def _forget(ns, spec):
    for name in spec["names"]:
        ns.pop(name, None)
    return {}


# --------------------------------------------------------------------------- SQL


def _value(spark, v):
    t = v["t"]
    if t == "null":
        return None
    if t == "float":
        return float(v["v"])
    if t == "decimal":
        return decimal.Decimal(v["v"])
    if t == "date":
        return datetime.date.fromordinal(v["v"])
    if t == "timestamp":
        return _EPOCH_UTC + datetime.timedelta(microseconds=v["v"])
    if t == "timestamp_ntz":
        wall = datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=v["v"])
        try:  # a TIMESTAMP_NTZ literal: a Python datetime would become a TIMESTAMP
            from pyspark.sql.column import Column

            local = spark._jvm.java.time.LocalDateTime.of(
                wall.year, wall.month, wall.day, wall.hour, wall.minute, wall.second, wall.microsecond * 1000)
            return Column(spark._jvm.org.apache.spark.sql.functions.lit(local))
        except Exception:  # noqa: BLE001 - no JVM access (Spark Connect): the wall time as TIMESTAMP
            return wall
    if t == "bytes":
        return bytearray(base64.b64decode(v["v"]))
    if t == "array":
        return [_value(spark, x) for x in v["v"]]
    return v["v"]  # bool, int, str


def _sql(ns, spec):
    spark = _spark(ns)
    total = spec["total"]
    result = None
    for statement in spec["statements"]:
        args = {k: _value(spark, v) for k, v in statement["args"].items()}
        try:
            result = spark.sql(statement["text"], args=args) if args else spark.sql(statement["text"])
        except TypeError as exc:
            if args and "args" in str(exc):
                raise Failure("Unsupported", "SQL parameters need Spark 3.5 or later (this session "
                              "has Spark %s)" % spark.version)
            raise Failure(type(exc).__name__, _where(statement, total) + _first_lines(str(exc)))
        except Exception as exc:
            raise Failure(type(exc).__name__, _where(statement, total) + _first_lines(str(exc)))
    header = {"columns": list(result.columns) if result is not None else []}
    if spec.get("keep") and result is not None:
        ns[spec["keep"]] = result
    return header


def _where(statement, total):
    if total == 1:
        return ""
    return "statement %d of %d (line %d) failed: " % (statement["number"], total, statement["line"])


# --------------------------------------------------------------------------- completion


def _catalog_tables(ns, spec):
    spark = _spark(ns)
    names = []
    for table in spark.catalog.listTables():
        names.append(table.name)
    return {"tables": sorted(set(names)), "database": spark.catalog.currentDatabase()}


def _catalog_columns(ns, spec):
    spark = _spark(ns)
    columns = {}
    for name in spec["tables"]:
        try:
            columns[name] = list(spark.table(name).columns)
        except Exception:  # noqa: BLE001 - a word that only looked like a table
            columns[name] = None
    return {"columns": columns}


# --------------------------------------------------------------------------- modules


class _SourceFinder(object):
    """Serves modules sent from the notebook: ``{fullname: (source, is_package, filename)}``."""

    flm_sent_modules = True

    def __init__(self):
        self.sources = {}

    def find_spec(self, fullname, path=None, target=None):
        entry = self.sources.get(fullname)
        if entry is None:
            return None
        import importlib.util

        return importlib.util.spec_from_loader(fullname, self, origin=entry[2], is_package=entry[1])

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        source, _, filename = self.sources[module.__name__]
        module.__file__ = filename
        exec(compile(source, filename, "exec"), module.__dict__)

    def get_source(self, fullname):
        return self.sources[fullname][0]


def _finder():
    for finder in sys.meta_path:
        if getattr(finder, "flm_sent_modules", False):
            return finder
    finder = _SourceFinder()
    sys.meta_path.insert(0, finder)
    return finder


def _module(ns, spec):
    import linecache

    name, alias = spec["name"], spec["alias"]
    top = name.split(".")[0]
    if top in sys.builtin_module_names or top in getattr(sys, "stdlib_module_names", ()):
        raise Failure("NameTaken", "%r is a standard library module here: send it --as another name" % top)
    finder = _finder()
    mine = lambda key: key == name or key.startswith(name + ".")  # noqa: E731
    for key in [k for k in finder.sources if mine(k)]:
        del finder.sources[key]
    for relative, source in spec["files"].items():
        parts = relative[:-3].split("/")
        package = parts[-1] == "__init__"
        full = ".".join([name] + (parts[:-1] if package else parts)) if spec["package"] else name
        filename = "<sent>/%s/%s" % (name, relative) if spec["package"] else "<sent>/%s" % relative
        finder.sources[full] = (source, package, filename)
        lines = source.splitlines(True)
        linecache.cache[filename] = (len(source), None, lines, filename)
    loaded = sorted((k for k in sys.modules if mine(k)), key=lambda k: -k.count("."))
    reloaded = []
    importlib.invalidate_caches()
    for key in loaded:
        if key not in finder.sources:
            del sys.modules[key]
        else:
            importlib.reload(sys.modules[key])  # objects holding the module see the new code
            reloaded.append(key)
    module = sys.modules.get(name) or importlib.import_module(name)
    try:
        from pyspark import cloudpickle

        cloudpickle.register_pickle_by_value(module)  # executors get the code with each function
    except Exception:  # noqa: BLE001 - older cloudpickle: UDFs then need the module on executors
        pass
    ns[alias] = module
    return {"modules": sorted(k for k in finder.sources if mine(k)), "reloaded": bool(reloaded)}


OPS = {
    "tables": _tables, "describe": _describe, "read": _read, "write": _write, "forget": _forget,
    "sql": _sql, "catalog_tables": _catalog_tables, "catalog_columns": _catalog_columns,
    "module": _module,
}
