class Helper:
    pass


def rule(event):
    class Local:
        pass
    return True
