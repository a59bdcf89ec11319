#!/usr/bin/env python3
"""Fetches JSON rows from REPORT_SOURCE_URL and writes them as CSV to $JOBSD_OUTPUT_DIR/$REPORT_NAME.csv.

The JSON is a list of objects, or an object holding one (the first list of objects among its values,
e.g. {"rows": [...]}). Columns are the keys in the order they first appear; nested values are written as
JSON. Used by jobs.d/csv-report.yaml; jobsd ignores this directory (only files in jobs.d itself are jobs).
"""
import csv
import json
import os
import sys
import urllib.request


def rows_of(doc):
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for value in doc.values():
            if isinstance(value, list) and all(isinstance(v, dict) for v in value):
                return value
    raise ValueError("expected a list of objects, or an object holding one")


def cell(value):
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def main():
    url = os.environ["REPORT_SOURCE_URL"]
    name = os.environ.get("REPORT_NAME", "report")
    out_dir = os.environ.get("JOBSD_OUTPUT_DIR", ".")
    request = urllib.request.Request(url, headers={"accept": "application/json", "user-agent": "jobsd csv-report"})
    with urllib.request.urlopen(request, timeout=60) as response:
        rows = rows_of(json.load(response))
    if not all(isinstance(r, dict) for r in rows):
        raise ValueError("every row must be an object")
    columns = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    path = os.path.join(out_dir, f"{name}.csv")
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([cell(row.get(c)) for c in columns])
    print(f"wrote {len(rows)} rows, {len(columns)} columns to {name}.csv")


if __name__ == "__main__":
    try:
        main()
    except Exception as err:  # one line a person can act on, not a traceback
        print(f"csv-report: {err}", file=sys.stderr)
        sys.exit(1)
