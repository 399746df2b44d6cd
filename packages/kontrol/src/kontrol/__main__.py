def main() -> None:
    raise SystemExit("kontrol: not implemented yet")
