from my_helpers import classify


def rule(event):
    return classify(event) == "bad"
