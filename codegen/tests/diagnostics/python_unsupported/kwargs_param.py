def rule(event, **options):
    return True
