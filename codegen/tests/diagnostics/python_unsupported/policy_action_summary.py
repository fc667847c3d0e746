from policyuniverse.policy import Policy


def rule(event):
    return "s3" in Policy(event.get("policy", {})).action_summary()
