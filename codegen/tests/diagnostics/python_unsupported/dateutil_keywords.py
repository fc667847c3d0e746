from dateutil import parser


def rule(event):
    return parser.parse(event.get("when"), dayfirst=True).year > 2020
