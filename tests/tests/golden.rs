//! The golden outputs of the generator build, and behave like the rules they were made from.

use detections::Event;
use integration_tests::{golden_aws_ec2_stopinstances, golden_every_construct};
use serde_json::json;

#[test]
fn golden_seed_rule_matches_a_stop_instances_event() {
    let event = json!({"eventName": "StopInstances", "recipientAccountId": "1"});
    assert!(golden_aws_ec2_stopinstances::RULE.matches(&event));
    assert_eq!(golden_aws_ec2_stopinstances::RULE.title(&event), "EC2 instances  stopped in account 1.");
}

#[test]
fn golden_every_construct_rule_decides_step_by_step() {
    let rule = &golden_every_construct::RULE;
    let mut event = json!({
        "eventSource": "s3.amazonaws.com",
        "eventName": "DeleteBucket",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/x"},
        "sourceIPAddress": "8.8.8.8",
        "vpcEndpointId": "vpce-1",
        "resources": [{"type": "AWS::S3::Bucket", "ARN": "arn:\"quoted\""}],
        "requestParameters": {"minutes": 1, "maxMinutes": 5, "bucketName": "b"},
    });
    assert_eq!((rule.decide)(&event), None);
    assert_eq!(rule.title(&event), "arn:aws:iam::1:user/x deleted b {DeleteBucket}");
    assert_eq!(rule.severity(&event), detections::Severity::Info);
    event["p_enrichment"] = json!({"ipinfo_location": {"sourceIPAddress": {"country": "DE"}}});
    assert_eq!((rule.decide)(&event), Some(46));
    event["eventSource"] = json!("ec2.amazonaws.com");
    assert_eq!((rule.decide)(&event), Some(19), "the first inline filter decides");
    let _: &dyn Event = &event;
}
