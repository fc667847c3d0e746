#!/usr/bin/env python3
"""Writes N synthetic but realistic CloudTrail rules (Panther rule YAML, with tests) into a directory.

    python3 scripts/scale/generate.py DIR [--count 1000] [--seed 1]

For the build-time and engine scale measurements of issue 4 (scripts/scale/run.sh). Each rule is
`synthetic_NNNN_<service>_<api>.yml`, RuleID `Synthetic.<Service>.<Api>.NNNN`, log type
AWS.CloudTrail: eventSource/eventName conditions on real API names (Equals, IsIn, StartsWith, or
none at all for a few rules that every event must run), plus 1-4 conditions on other fields
(KeyPath into userIdentity and requestParameters; Equals, IsIn, StartsWith, EndsWith, Contains,
IContains, IsNullOrEmpty, numeric and CIDR conditions, negated forms), sometimes nested in Any/All/
None, sometimes a list comprehension (AnyElement/AllElements/NoElement); titles with placeholders,
severities, context, GroupBy, a few DynamicSeverities, Threshold and disabled rules.

Tests are right by construction: every condition of a rule reads its own field, and knows values
that make it hold and values that make it fail (checked here against the condition's semantics).
Test 1 sets every field so the rule matches; the other tests break exactly one top-level condition
(usually the API name: "another call"), so the rule does not match. `codegen test DIR` checks them.
Only the standard library; the same seed gives the same files.
"""

import argparse
import ipaddress
import json
import pathlib
import random
import sys

MISSING = object()  # a field left out of the event

# eventSource -> (short name, [(eventName, readOnly, [requestParameters keys])]); real API names.
SERVICES = {
    "ec2.amazonaws.com": ("EC2", [
        ("RunInstances", False, ["instanceType", "imageId", "keyName"]),
        ("TerminateInstances", False, ["instanceId"]),
        ("StopInstances", False, ["instanceId", "force"]),
        ("StartInstances", False, ["instanceId"]),
        ("ModifyInstanceAttribute", False, ["instanceId", "attribute"]),
        ("CreateSecurityGroup", False, ["groupName", "vpcId"]),
        ("AuthorizeSecurityGroupIngress", False, ["groupId"]),
        ("RevokeSecurityGroupEgress", False, ["groupId"]),
        ("CreateSnapshot", False, ["volumeId", "description"]),
        ("ModifySnapshotAttribute", False, ["snapshotId", "attributeType"]),
        ("ModifyImageAttribute", False, ["imageId", "attributeType"]),
        ("CreateVpc", False, ["cidrBlock"]),
        ("DeleteVpc", False, ["vpcId"]),
        ("CreateKeyPair", False, ["keyName"]),
        ("ImportKeyPair", False, ["keyName"]),
        ("DeleteFlowLogs", False, ["flowLogId"]),
        ("CreateNetworkAclEntry", False, ["networkAclId", "cidrBlock", "ruleAction"]),
        ("DisableEbsEncryptionByDefault", False, []),
        ("GetPasswordData", True, ["instanceId"]),
        ("DescribeInstances", True, ["maxResults"]),
        ("DescribeSecurityGroups", True, ["maxResults"]),
    ]),
    "iam.amazonaws.com": ("IAM", [
        ("CreateUser", False, ["userName", "path"]),
        ("DeleteUser", False, ["userName"]),
        ("CreateAccessKey", False, ["userName"]),
        ("AttachUserPolicy", False, ["userName", "policyArn"]),
        ("AttachRolePolicy", False, ["roleName", "policyArn"]),
        ("PutUserPolicy", False, ["userName", "policyName"]),
        ("PutRolePolicy", False, ["roleName", "policyName"]),
        ("CreateRole", False, ["roleName", "path"]),
        ("UpdateAssumeRolePolicy", False, ["roleName"]),
        ("CreateLoginProfile", False, ["userName", "passwordResetRequired"]),
        ("UpdateLoginProfile", False, ["userName", "passwordResetRequired"]),
        ("DeactivateMFADevice", False, ["userName", "serialNumber"]),
        ("DeleteVirtualMFADevice", False, ["serialNumber"]),
        ("CreatePolicyVersion", False, ["policyArn", "setAsDefault"]),
        ("AddUserToGroup", False, ["groupName", "userName"]),
        ("ListUsers", True, ["maxItems"]),
        ("ListRoles", True, ["maxItems"]),
        ("GetAccountAuthorizationDetails", True, ["maxItems"]),
    ]),
    "s3.amazonaws.com": ("S3", [
        ("PutBucketPolicy", False, ["bucketName"]),
        ("DeleteBucketPolicy", False, ["bucketName"]),
        ("PutBucketAcl", False, ["bucketName"]),
        ("PutBucketPublicAccessBlock", False, ["bucketName"]),
        ("DeleteBucket", False, ["bucketName"]),
        ("PutBucketLogging", False, ["bucketName"]),
        ("PutBucketVersioning", False, ["bucketName"]),
        ("PutBucketLifecycle", False, ["bucketName"]),
        ("PutBucketEncryption", False, ["bucketName"]),
        ("DeleteBucketEncryption", False, ["bucketName"]),
        ("PutBucketReplication", False, ["bucketName"]),
        ("GetObject", True, ["bucketName", "key"]),
        ("ListObjects", True, ["bucketName", "prefix"]),
    ]),
    "kms.amazonaws.com": ("KMS", [
        ("DisableKey", False, ["keyId"]),
        ("ScheduleKeyDeletion", False, ["keyId", "pendingWindowInDays"]),
        ("PutKeyPolicy", False, ["keyId", "policyName"]),
        ("CreateGrant", False, ["keyId", "granteePrincipal"]),
        ("CreateKey", False, ["description", "keyUsage"]),
        ("Decrypt", True, ["keyId", "encryptionAlgorithm"]),
        ("DescribeKey", True, ["keyId"]),
    ]),
    "lambda.amazonaws.com": ("Lambda", [
        ("CreateFunction20150331", False, ["functionName", "runtime", "role"]),
        ("UpdateFunctionCode20150331v2", False, ["functionName"]),
        ("UpdateFunctionConfiguration20150331v2", False, ["functionName", "runtime"]),
        ("AddPermission20150331v2", False, ["functionName", "principal", "action"]),
        ("DeleteFunction20150331", False, ["functionName"]),
        ("PublishLayerVersion20181031", False, ["layerName"]),
        ("GetFunction20150331v2", True, ["functionName"]),
    ]),
    "rds.amazonaws.com": ("RDS", [
        ("DeleteDBInstance", False, ["dBInstanceIdentifier", "skipFinalSnapshot"]),
        ("ModifyDBInstance", False, ["dBInstanceIdentifier", "publiclyAccessible"]),
        ("CreateDBSnapshot", False, ["dBInstanceIdentifier", "dBSnapshotIdentifier"]),
        ("ModifyDBSnapshotAttribute", False, ["dBSnapshotIdentifier", "attributeName"]),
        ("RestoreDBInstanceFromDBSnapshot", False, ["dBInstanceIdentifier", "dBSnapshotIdentifier"]),
        ("StopDBInstance", False, ["dBInstanceIdentifier"]),
        ("DeleteDBCluster", False, ["dBClusterIdentifier", "skipFinalSnapshot"]),
        ("DescribeDBInstances", True, ["maxRecords"]),
    ]),
    "cloudtrail.amazonaws.com": ("CloudTrail", [
        ("StopLogging", False, ["name"]),
        ("DeleteTrail", False, ["name"]),
        ("UpdateTrail", False, ["name", "s3BucketName"]),
        ("PutEventSelectors", False, ["trailName"]),
        ("CreateTrail", False, ["name", "s3BucketName"]),
        ("LookupEvents", True, ["maxResults"]),
    ]),
    "sts.amazonaws.com": ("STS", [
        ("AssumeRole", True, ["roleArn", "roleSessionName", "durationSeconds"]),
        ("AssumeRoleWithSAML", True, ["roleArn", "principalArn", "durationSeconds"]),
        ("AssumeRoleWithWebIdentity", True, ["roleArn", "roleSessionName"]),
        ("GetSessionToken", True, ["durationSeconds"]),
        ("GetFederationToken", True, ["name", "durationSeconds"]),
        ("GetCallerIdentity", True, []),
    ]),
    "secretsmanager.amazonaws.com": ("SecretsManager", [
        ("GetSecretValue", True, ["secretId"]),
        ("BatchGetSecretValue", True, ["maxResults"]),
        ("DeleteSecret", False, ["secretId", "recoveryWindowInDays"]),
        ("PutSecretValue", False, ["secretId"]),
        ("RotateSecret", False, ["secretId"]),
        ("PutResourcePolicy", False, ["secretId"]),
    ]),
    "ssm.amazonaws.com": ("SSM", [
        ("GetParameter", True, ["name", "withDecryption"]),
        ("GetParameters", True, ["withDecryption"]),
        ("SendCommand", False, ["documentName", "timeoutSeconds"]),
        ("StartSession", False, ["target", "documentName"]),
        ("PutParameter", False, ["name", "type", "overwrite"]),
        ("DeleteParameter", False, ["name"]),
    ]),
    "guardduty.amazonaws.com": ("GuardDuty", [
        ("DeleteDetector", False, ["detectorId"]),
        ("UpdateDetector", False, ["detectorId", "enable"]),
        ("DisassociateFromMasterAccount", False, ["detectorId"]),
        ("CreateFilter", False, ["detectorId", "name", "action"]),
        ("DeletePublishingDestination", False, ["detectorId", "destinationId"]),
        ("ListFindings", True, ["detectorId", "maxResults"]),
    ]),
    "config.amazonaws.com": ("Config", [
        ("StopConfigurationRecorder", False, ["configurationRecorderName"]),
        ("DeleteConfigurationRecorder", False, ["configurationRecorderName"]),
        ("DeleteDeliveryChannel", False, ["deliveryChannelName"]),
        ("PutConfigurationRecorder", False, ["configurationRecorderName"]),
        ("DescribeConfigRules", True, []),
    ]),
    "organizations.amazonaws.com": ("Organizations", [
        ("LeaveOrganization", False, []),
        ("InviteAccountToOrganization", False, ["notes"]),
        ("RemoveAccountFromOrganization", False, ["accountId"]),
        ("CreateAccount", False, ["accountName", "email"]),
        ("DeleteOrganization", False, []),
        ("ListAccounts", True, ["maxResults"]),
    ]),
    "ecr.amazonaws.com": ("ECR", [
        ("PutImage", False, ["repositoryName", "imageTag"]),
        ("SetRepositoryPolicy", False, ["repositoryName", "force"]),
        ("DeleteRepository", False, ["repositoryName", "force"]),
        ("PutLifecyclePolicy", False, ["repositoryName"]),
        ("BatchDeleteImage", False, ["repositoryName"]),
        ("GetAuthorizationToken", True, []),
    ]),
    "eks.amazonaws.com": ("EKS", [
        ("CreateCluster", False, ["name", "version"]),
        ("DeleteCluster", False, ["name"]),
        ("UpdateClusterConfig", False, ["name"]),
        ("CreateAccessEntry", False, ["clusterName", "principalArn"]),
        ("ListClusters", True, ["maxResults"]),
    ]),
    "logs.amazonaws.com": ("Logs", [
        ("DeleteLogGroup", False, ["logGroupName"]),
        ("DeleteLogStream", False, ["logGroupName", "logStreamName"]),
        ("PutRetentionPolicy", False, ["logGroupName", "retentionInDays"]),
        ("PutSubscriptionFilter", False, ["logGroupName", "destinationArn", "filterName"]),
        ("DescribeLogGroups", True, ["limit"]),
    ]),
    "sns.amazonaws.com": ("SNS", [
        ("Publish", False, ["topicArn", "subject"]),
        ("DeleteTopic", False, ["topicArn"]),
        ("SetTopicAttributes", False, ["topicArn", "attributeName"]),
        ("Subscribe", False, ["topicArn", "protocol", "endpoint"]),
        ("ListTopics", True, []),
    ]),
    "sqs.amazonaws.com": ("SQS", [
        ("SetQueueAttributes", False, ["queueUrl"]),
        ("DeleteQueue", False, ["queueUrl"]),
        ("PurgeQueue", False, ["queueUrl"]),
        ("ListQueues", True, ["maxResults"]),
    ]),
    "route53.amazonaws.com": ("Route53", [
        ("ChangeResourceRecordSets", False, ["hostedZoneId"]),
        ("DisableDomainAutoRenew", False, ["domainName"]),
        ("TransferDomainToAnotherAwsAccount", False, ["domainName", "accountId"]),
        ("DeleteHostedZone", False, ["id"]),
        ("ListHostedZones", True, ["maxItems"]),
    ]),
    "dynamodb.amazonaws.com": ("DynamoDB", [
        ("DeleteTable", False, ["tableName"]),
        ("UpdateTable", False, ["tableName"]),
        ("DeleteBackup", False, ["backupArn"]),
        ("ExportTableToPointInTime", False, ["tableArn", "s3Bucket"]),
        ("DescribeTable", True, ["tableName"]),
    ]),
    "cloudformation.amazonaws.com": ("CloudFormation", [
        ("CreateStack", False, ["stackName", "templateURL"]),
        ("DeleteStack", False, ["stackName"]),
        ("UpdateStack", False, ["stackName", "templateURL"]),
        ("DescribeStacks", True, ["stackName"]),
    ]),
    "backup.amazonaws.com": ("Backup", [
        ("DeleteBackupVault", False, ["backupVaultName"]),
        ("DeleteRecoveryPoint", False, ["backupVaultName", "recoveryPointArn"]),
        ("DeleteBackupPlan", False, ["backupPlanId"]),
        ("ListBackupJobs", True, ["maxResults"]),
    ]),
    "bedrock.amazonaws.com": ("Bedrock", [
        ("DeleteModelInvocationLoggingConfiguration", False, []),
        ("UpdateGuardrail", False, ["guardrailIdentifier", "name"]),
        ("DeleteGuardrail", False, ["guardrailIdentifier"]),
        ("InvokeModel", True, ["modelId"]),
    ]),
}

ACCOUNTS = ["123456789012", "111122223333", "777788889999", "444455556666"]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2", "sa-east-1", "me-south-1"]
USERS = ["alice", "bob", "ci-deployer", "svc-backup", "terraform", "admin-breakglass", "Mateo", "Nikki"]
ROLES = ["OrganizationAccountAccessRole", "AWSReservedSSO_AdministratorAccess_5f2c", "github-actions-deploy",
         "AdminRole", "ReadOnly", "lambda-exec", "AWSServiceRoleForConfig"]
AGENTS = [
    "aws-cli/2.15.30 Python/3.11.8 Linux/5.10.213 exe/x86_64.amzn.2 command/{cmd}",
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.15.0 lang/python#3.11.6",
    "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0",
    "console.amazonaws.com",
    "AWS Internal",
    "aws-sdk-go-v2/1.26.0 os/linux lang/go#1.22.1 md/GOOS#linux api/sts#1.28.5",
]
PUBLIC_IPS = ["198.51.100.23", "203.0.113.77", "52.94.236.248", "185.220.101.4", "34.201.12.9"]
PRIVATE_IPS = ["10.0.14.7", "172.16.3.20", "192.168.1.15"]

# Realistic values per requestParameters key (the first is the "interesting" one rules look for).
PARAM_VALUES = {
    "instanceType": ["p4d.24xlarge", "t3.micro", "m5.large", "g5.12xlarge", "c6i.xlarge"],
    "imageId": ["ami-0c55b159cbfafe1f0", "ami-0a1b2c3d4e5f67890", "ami-09e67e426f25ce0d7"],
    "keyName": ["prod-bastion", "temp-key", "laptop"],
    "instanceId": ["i-0abcd1234ef567890", "i-0f1e2d3c4b5a69788", "i-EXAMPLE56126103cb"],
    "attribute": ["userData", "disableApiTermination", "instanceType"],
    "groupName": ["launch-wizard-1", "default", "db-access", "Admins"],
    "vpcId": ["vpc-0a1b2c3d", "vpc-EXAMPLE1"],
    "groupId": ["sg-0123456789abcdef0", "sg-0fedcba9876543210"],
    "volumeId": ["vol-0abc123def4567890", "vol-049df61146f12f973"],
    "description": ["nightly backup", "exfil", "created by terraform"],
    "snapshotId": ["snap-0b5f4c2a1e9d8c7b6", "snap-01234567890abcdef"],
    "attributeType": ["CREATE_VOLUME_PERMISSION", "launchPermission", "productCodes"],
    "cidrBlock": ["0.0.0.0/0", "10.0.0.0/16", "172.31.0.0/16"],
    "flowLogId": ["fl-0a1b2c3d4e5f6", "fl-12345678"],
    "networkAclId": ["acl-0a1b2c3d", "acl-5fb85d36"],
    "ruleAction": ["allow", "deny"],
    "maxResults": [1000, 50, 5],
    "userName": ["admin-breakglass", "ci-deployer", "alice", "bob"],
    "path": ["/", "/service/", "/admins/"],
    "policyArn": ["arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/ReadOnlyAccess",
                  "arn:aws:iam::123456789012:policy/custom-s3"],
    "roleName": ["github-actions-deploy", "OrganizationAccountAccessRole", "lambda-exec"],
    "policyName": ["inline-admin", "s3-read", "default"],
    "passwordResetRequired": [False, True],
    "serialNumber": ["arn:aws:iam::123456789012:mfa/alice", "arn:aws:iam::123456789012:mfa/root-account-mfa-device"],
    "setAsDefault": [True, False],
    "maxItems": [1000, 100],
    "bucketName": ["acme-prod-cloudtrail-logs", "acme-public-website", "data-lake-raw", "tmp-upload"],
    "key": ["exports/customers.csv", "index.html", "backups/db.sql.gz"],
    "prefix": ["", "logs/", "exports/"],
    "keyId": ["arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", "alias/prod-data",
              "mrk-4b2f0c7d"],
    "pendingWindowInDays": [7, 30, 14],
    "granteePrincipal": ["arn:aws:iam::444455556666:root", "arn:aws:iam::123456789012:role/lambda-exec"],
    "keyUsage": ["ENCRYPT_DECRYPT", "SIGN_VERIFY"],
    "encryptionAlgorithm": ["RSAES_OAEP_SHA_256", "SYMMETRIC_DEFAULT"],
    "functionName": ["payments-processor", "log-shipper", "backdoor-fn", "arn:aws:lambda:us-east-1:123456789012:function:etl"],
    "runtime": ["python3.12", "nodejs20.x", "python2.7", "provided.al2"],
    "role": ["arn:aws:iam::123456789012:role/lambda-exec", "arn:aws:iam::123456789012:role/AdminRole"],
    "principal": ["*", "s3.amazonaws.com", "444455556666"],
    "action": ["lambda:InvokeFunction", "ARCHIVE", "NOOP"],
    "layerName": ["shared-deps", "extension-telemetry"],
    "dBInstanceIdentifier": ["prod-postgres", "analytics-replica", "staging-mysql"],
    "skipFinalSnapshot": [True, False],
    "publiclyAccessible": [True, False],
    "dBSnapshotIdentifier": ["prod-postgres-2024-03-01", "manual-export"],
    "attributeName": ["restore", "Policy", "DeliveryPolicy"],
    "dBClusterIdentifier": ["aurora-prod", "aurora-dev"],
    "maxRecords": [100, 20],
    "name": ["management-events", "org-trail", "prod", "/prod/db/password"],
    "s3BucketName": ["acme-prod-cloudtrail-logs", "attacker-bucket"],
    "trailName": ["org-trail", "management-events"],
    "roleArn": ["arn:aws:iam::444455556666:role/cross-account-audit",
                "arn:aws:iam::123456789012:role/OrganizationAccountAccessRole", "arn:aws:iam::123456789012:role/ReadOnly"],
    "roleSessionName": ["botocore-session-1711", "github-actions", "alice@example.com"],
    "durationSeconds": [43200, 3600, 900],
    "principalArn": ["arn:aws:iam::123456789012:saml-provider/Okta", "arn:aws:iam::123456789012:role/AdminRole"],
    "secretId": ["prod/db/master", "arn:aws:secretsmanager:us-east-1:123456789012:secret:api-key-AbCdEf", "dev/test"],
    "recoveryWindowInDays": [7, 30],
    "withDecryption": [True, False],
    "documentName": ["AWS-RunShellScript", "AWS-StartInteractiveCommand", "SSM-SessionManagerRunShell"],
    "timeoutSeconds": [3600, 600],
    "target": ["i-0abcd1234ef567890", "mi-0123456789abcdef0"],
    "type": ["SecureString", "String"],
    "overwrite": [True, False],
    "detectorId": ["12abc34d567e8fa901bc2d34e56789f0", "b6b992d6d2f48e64bc59180bfexample"],
    "enable": [False, True],
    "destinationId": ["dest-0a1b2c", "dest-9f8e7d"],
    "configurationRecorderName": ["default", "org-recorder"],
    "deliveryChannelName": ["default", "org-channel"],
    "notes": ["welcome", "please join"],
    "accountId": ["444455556666", "123456789012"],
    "accountName": ["sandbox-17", "prod-payments"],
    "email": ["aws+sandbox17@example.com", "billing@example.com"],
    "repositoryName": ["backend-api", "base-images", "tmp-scratch"],
    "imageTag": ["latest", "v1.4.2", "debug"],
    "force": [True, False],
    "version": ["1.29", "1.23"],
    "clusterName": ["prod-eks", "dev-eks"],
    "logGroupName": ["/aws/cloudtrail/org", "/aws/lambda/payments-processor", "/ecs/web"],
    "logStreamName": ["2024/03/01/[$LATEST]abc", "ecs/web/1f2e3d"],
    "retentionInDays": [1, 365, 30],
    "destinationArn": ["arn:aws:kinesis:us-east-1:444455556666:stream/exfil", "arn:aws:logs:us-east-1:123456789012:destination:siem"],
    "filterName": ["to-siem", "catch-all"],
    "limit": [50, 10],
    "topicArn": ["arn:aws:sns:us-east-1:123456789012:security-alerts", "arn:aws:sns:us-east-1:123456789012:ops"],
    "subject": ["alert", "hello"],
    "protocol": ["email", "https", "sqs"],
    "endpoint": ["attacker@example.net", "https://hooks.example.com/x"],
    "queueUrl": ["https://sqs.us-east-1.amazonaws.com/123456789012/orders", "https://sqs.us-east-1.amazonaws.com/123456789012/dlq"],
    "hostedZoneId": ["Z3M3LMPEXAMPLE", "Z1D633PJN98FT9"],
    "domainName": ["example.com", "acme-corp.io"],
    "id": ["Z3M3LMPEXAMPLE", "Z1D633PJN98FT9"],
    "tableName": ["orders", "sessions", "audit-log"],
    "backupArn": ["arn:aws:dynamodb:us-east-1:123456789012:table/orders/backup/01489602797149-73d8d5bc"],
    "tableArn": ["arn:aws:dynamodb:us-east-1:123456789012:table/orders"],
    "s3Bucket": ["attacker-bucket", "acme-exports"],
    "stackName": ["network-baseline", "guardduty-org", "tmp-stack"],
    "templateURL": ["https://s3.amazonaws.com/acme-cfn/network.yml", "https://attacker.example/t.yml"],
    "backupVaultName": ["Default", "prod-vault"],
    "recoveryPointArn": ["arn:aws:backup:us-east-1:123456789012:recovery-point:1EB3B5E7-9EB0-435A-A80B-108B488B0D45"],
    "backupPlanId": ["8F81F553-3A74-4A3F-B93D-B3360DC80C50"],
    "guardrailIdentifier": ["gr-abc123", "arn:aws:bedrock:us-east-1:123456789012:guardrail/gr-abc123"],
    "modelId": ["anthropic.claude-3-sonnet-20240229-v1:0", "amazon.titan-text-express-v1"],
}


def param_values(key):
    return PARAM_VALUES.get(key, [f"{key}-value-1", f"{key}-value-2"])


# ---- the semantics of the conditions used (rule-format.md §3.1), for the values this script uses ----

def holds(cond, value, arg):
    """Whether `cond` with Value/Values `arg` holds for a field `value` (MISSING when absent)."""
    if cond == "Equals":
        return value is not MISSING and same(value, arg)
    if cond == "DoesNotEqual":
        return not holds("Equals", value, arg)
    if cond == "IEquals":
        return isinstance(value, str) and value.lower() == arg.lower()
    if cond == "IsIn":
        return value is not MISSING and any(same(value, a) for a in arg)
    if cond == "IsNotIn":
        return not holds("IsIn", value, arg)
    if cond in ("StartsWith", "EndsWith", "Contains", "IContains"):
        if not isinstance(value, str):
            return False
        if cond == "StartsWith":
            return value.startswith(arg)
        if cond == "EndsWith":
            return value.endswith(arg)
        if cond == "Contains":
            return arg in value
        return arg.lower() in value.lower()
    if cond == "DoesNotStartWith":
        return not holds("StartsWith", value, arg)
    if cond == "DoesNotContain":
        return not holds("Contains", value, arg)
    if cond == "IsNullOrEmpty":
        return value is MISSING or value in (None, "", [], {}) or value is False or (type(value) in (int, float) and value == 0)
    if cond == "IsNotNullOrEmpty":
        return not holds("IsNullOrEmpty", value, arg)
    if cond == "IsNull":
        return value is MISSING or value is None
    if cond == "IsNotNull":
        return not holds("IsNull", value, arg)
    if cond == "Exists":
        return value is not MISSING
    if cond == "DoesNotExist":
        return value is MISSING
    if cond in ("IsGreaterThan", "IsLessThan", "IsGreaterThanOrEquals", "IsLessThanOrEquals"):
        if type(value) not in (int, float):
            return False
        return {"IsGreaterThan": value > arg, "IsLessThan": value < arg,
                "IsGreaterThanOrEquals": value >= arg, "IsLessThanOrEquals": value <= arg}[cond]
    if cond in ("IsIPAddressInCIDR", "IsIPAddressNotInCIDR", "IsIPAddressPublic", "IsIPAddressPrivate"):
        try:
            ip = ipaddress.ip_address(value) if isinstance(value, str) else None
        except ValueError:
            ip = None
        if cond == "IsIPAddressInCIDR":
            return ip is not None and ip in ipaddress.ip_network(arg)
        if cond == "IsIPAddressNotInCIDR":
            return not (ip is not None and ip in ipaddress.ip_network(arg))
        if cond == "IsIPAddressPublic":
            return ip is not None and ip.is_global
        return ip is not None and ip.is_private
    raise ValueError(f"no semantics for {cond}")


def same(a, b):
    """JSON equality as rule-format.md §4.1, for the scalars used here: numbers by value, a bool equals only a bool."""
    number = lambda x: type(x) in (int, float)  # noqa: E731 (bool is not a number here)
    if number(a) and number(b):
        return a == b
    return type(a) is type(b) and a == b


# ---- event fields ----

def get(event, path):
    for part in path.split("."):
        if not isinstance(event, dict) or part not in event:
            return MISSING
        event = event[part]
    return event


def put(event, path, value):
    *parents, last = path.split(".")
    for part in parents:
        if not isinstance(event.get(part), dict):
            event[part] = {}
        event = event[part]
    if value is MISSING:
        event.pop(last, None)
    else:
        event[last] = value


# ---- match expressions: each can print itself, and make an event satisfy or fail it ----

class Leaf:
    """`path Condition Value(s)`; `pool`: candidate field values (MISSING allowed) to satisfy or fail it."""

    def __init__(self, path, cond, arg, pool, key="KeyPath"):
        self.path, self.cond, self.arg, self.key = path, cond, arg, key
        self.yes = [v for v in pool if holds(cond, v, arg)]
        self.no = [v for v in pool if not holds(cond, v, arg)]
        assert self.yes and self.no, (path, cond, arg, pool)

    def yaml(self, ind):
        out = [f"{ind}- {self.key}: {self.path}", f"{ind}  Condition: {self.cond}"]
        if isinstance(self.arg, list):
            out.append(f"{ind}  Values: [{', '.join(json.dumps(a) for a in self.arg)}]")
        elif self.arg is not None:
            out.append(f"{ind}  Value: {json.dumps(self.arg)}")
        return out

    def make(self, event, rng, want):
        put(event, self.path, rng.choice(self.yes if want else self.no))

    def eval(self, event):
        return holds(self.cond, get(event, self.path), self.arg)


class Combinator:
    def __init__(self, kind, children):
        self.kind, self.children = kind, children

    def yaml(self, ind):
        out = [f"{ind}- {self.kind}:"]
        for c in self.children:
            out += c.yaml(ind + "    ")
        return out

    def eval(self, event):
        held = [c.eval(event) for c in self.children]
        return {"Any": any(held), "All": all(held), "None": not any(held)}[self.kind]

    def make(self, event, rng, want):
        # Any: one child holds (the others fail, to exercise the rest) / none holds. All: every child
        # holds / one fails. None: no child holds / one holds.
        k = rng.randrange(len(self.children))
        for i, c in enumerate(self.children):
            if self.kind == "Any":
                c.make(event, rng, want and i == k)
            elif self.kind == "All":
                c.make(event, rng, want or i != k)
            else:
                c.make(event, rng, not want and i == k)


class Elements:
    """`path AnyElement/AllElements/NoElement` over a list of objects, each tested against `leaves`."""

    def __init__(self, path, cond, leaves):
        self.path, self.cond, self.leaves = path, cond, leaves

    def yaml(self, ind):
        out = [f"{ind}- KeyPath: {self.path}", f"{ind}  Condition: {self.cond}", f"{ind}  Expressions:"]
        for leaf in self.leaves:
            out += leaf.yaml(ind + "    ")
        return out

    def eval(self, event):
        items = get(event, self.path)
        if not isinstance(items, list):
            return self.cond == "NoElement"
        held = [isinstance(i, dict) and all(leaf.eval(i) for leaf in self.leaves) for i in items]
        return {"AnyElement": any(held), "AllElements": all(held), "NoElement": not any(held)}[self.cond]

    def element(self, rng, match):
        e = {}
        k = rng.randrange(len(self.leaves))
        for i, leaf in enumerate(self.leaves):
            leaf.make(e, rng, match or i != k)
        return e

    def make(self, event, rng, want):
        n = rng.randint(1, 3)
        if self.cond == "AnyElement":
            items = [self.element(rng, False) for _ in range(n - 1)] + [self.element(rng, True)]
            items = items if want else [self.element(rng, False) for _ in range(n)]
        elif self.cond == "AllElements":
            items = [self.element(rng, True) for _ in range(n)]
            if not want:
                items[rng.randrange(n)] = self.element(rng, False)
        else:  # NoElement
            items = [self.element(rng, False) for _ in range(n)]
            if not want:
                items[rng.randrange(n)] = self.element(rng, True)
        rng.shuffle(items)
        put(event, self.path, items)


# ---- the rules ----

def other_names(rng, exclude, k):
    names = [n for _, (_, apis) in SERVICES.items() for n, _, _ in apis if n not in exclude]
    return rng.sample(names, k)


VERBS = ["Delete", "Put", "Create", "Update", "Modify", "Get", "Describe", "List", "Disable", "Stop", "Set"]


def api_conditions(rng, source, apis):
    """The eventSource/eventName part: (expressions, the API names the match test may use)."""
    r = rng.random()
    names = [a[0] for a in apis]
    es_pool = [source] + [s for s in SERVICES if s != source][:3] + [MISSING]
    source_leaf = Leaf("eventSource", "Equals", source, es_pool)
    if r < 0.50:  # one API
        name = rng.choice(names)
        pool = [name] + other_names(rng, {name}, 3) + [MISSING]
        leaves = [Leaf("eventName", "Equals", name, pool)]
        chosen = [name]
    elif r < 0.85:  # a few APIs of the service
        chosen = rng.sample(names, min(len(names), rng.randint(2, 5)))
        pool = chosen + other_names(rng, set(chosen), 3) + [MISSING]
        leaves = [Leaf("eventName", "IsIn", chosen, pool)]
    elif r < 0.95:  # a verb across the service, e.g. every Delete*
        verb = rng.choice([v for v in VERBS if any(n.startswith(v) for n in names)])
        chosen = [n for n in names if n.startswith(verb)]
        pool = names + [MISSING]
        leaves = [Leaf("eventName", "StartsWith", verb, pool)]
    else:  # no API condition: the rule runs on every event
        return [], None
    if r >= 0.85 or rng.random() < 0.6:
        leaves.insert(0, source_leaf)
    return leaves, chosen


def extra_conditions(rng, params, read_only):
    """Candidate conditions on fields other than eventSource/eventName; the caller picks a few."""
    c = []
    c.append(lambda: Leaf("errorCode", rng.choice(["IsNullOrEmpty", "IsNull", "DoesNotExist"]), None,
                          [MISSING, "AccessDenied", "UnauthorizedOperation", "ThrottlingException"]))
    c.append(lambda: Leaf("errorCode", "IsIn", ["AccessDenied", "UnauthorizedOperation", "Client.UnauthorizedOperation"],
                          [MISSING, "AccessDenied", "UnauthorizedOperation", "ThrottlingException", "NoSuchEntity"]))
    types = ["Root", "IAMUser", "AssumedRole", "FederatedUser", "AWSService"]
    c.append(lambda: Leaf("userIdentity.type", rng.choice(["Equals", "DoesNotEqual"]), rng.choice(types[:4]), types + [MISSING]))
    c.append(lambda: Leaf("userIdentity.type", rng.choice(["IsIn", "IsNotIn"]), rng.sample(types, 2), types))
    arns = [f"arn:aws:iam::{a}:user/{u}" for a in ACCOUNTS[:2] for u in USERS[:4]] + \
           [f"arn:aws:sts::{ACCOUNTS[0]}:assumed-role/{r}/session" for r in ROLES] + [f"arn:aws:iam::{ACCOUNTS[1]}:root"]
    frag = rng.choice([":assumed-role/", ":user/", ":root", "Admin", "AWSReservedSSO_", "ci-", "github-actions"])
    c.append(lambda: Leaf("userIdentity.arn", rng.choice(["Contains", "DoesNotContain"]), frag, arns + [MISSING]))
    c.append(lambda: Leaf("userIdentity.arn", "IContains", rng.choice(["admin", "breakglass", "terraform", "deploy"]), arns + ["arn:aws:iam::1:user/BreakGlass-Admin", "arn:aws:iam::1:user/Terraform"]))
    c.append(lambda: Leaf("userIdentity.arn", "EndsWith", rng.choice([":root", "/session", "/alice"]), arns))
    c.append(lambda: Leaf("userIdentity.sessionContext.attributes.mfaAuthenticated", "Equals", rng.choice(["false", "true"]), ["true", "false", MISSING]))
    c.append(lambda: Leaf("userIdentity.sessionContext.sessionIssuer.userName", rng.choice(["StartsWith", "DoesNotStartWith"]),
                          rng.choice(["AWSReservedSSO_", "github-", "AWSServiceRole"]), ROLES + ["github-actions-deploy", MISSING]))
    c.append(lambda: Leaf("userIdentity.accessKeyId", "StartsWith", rng.choice(["AKIA", "ASIA"]), ["AKIAIOSFODNN7EXAMPLE", "ASIAXAMPLEXAMPLE123", MISSING]))
    c.append(lambda: Leaf("userIdentity.invokedBy", rng.choice(["IsNullOrEmpty", "IsNotNullOrEmpty"]), None, [MISSING, "", "cloudformation.amazonaws.com", "AWS Internal"]))
    c.append(lambda: Leaf("sourceIPAddress", rng.choice(["IsIPAddressPublic", "IsIPAddressPrivate"]), None, PUBLIC_IPS + PRIVATE_IPS + ["ec2.amazonaws.com"]))
    c.append(lambda: Leaf("sourceIPAddress", rng.choice(["IsIPAddressInCIDR", "IsIPAddressNotInCIDR"]), rng.choice(["10.0.0.0/8", "203.0.113.0/24", "172.16.0.0/12"]),
                          PUBLIC_IPS + PRIVATE_IPS + ["AWS Internal"]))
    c.append(lambda: Leaf("awsRegion", rng.choice(["IsIn", "IsNotIn"]), rng.sample(REGIONS, rng.randint(2, 4)), REGIONS))
    ua = [a.format(cmd="s3.ls") for a in AGENTS] + ["python-requests/2.31.0", "S3Browser/11.5.7", MISSING]
    c.append(lambda: Leaf("userAgent", rng.choice(["IContains", "DoesNotContain"]), rng.choice(["terraform", "Boto3", "aws-cli", "console.amazonaws.com", "S3Browser", "python-requests"]), ua))
    c.append(lambda: Leaf("readOnly", "Equals", read_only, [True, False]))
    c.append(lambda: Leaf("recipientAccountId", rng.choice(["IsIn", "IsNotIn"]), rng.sample(ACCOUNTS, 2), ACCOUNTS))
    c.append(lambda: Leaf("eventType", "Equals", "AwsApiCall", ["AwsApiCall", "AwsConsoleSignIn", "AwsServiceEvent"]))
    for p in params:
        vals = param_values(p)
        first = vals[0]
        if isinstance(first, bool):
            c.append(lambda p=p, first=first: Leaf(f"requestParameters.{p}", "Equals", first, [True, False, MISSING]))
        elif isinstance(first, int):
            def number_leaf(p=p, vals=vals):
                # The bound is an extreme value, so that values on both sides exist.
                cond = rng.choice(["IsLessThan", "IsGreaterThanOrEquals", "IsGreaterThan", "IsLessThanOrEquals"])
                bound = max(vals) if cond in ("IsLessThan", "IsGreaterThanOrEquals") else min(vals)
                return Leaf(f"requestParameters.{p}", cond, bound, vals + [MISSING, str(bound)])
            c.append(number_leaf)
        else:
            def string_leaf(p=p, vals=vals, first=first):
                cond = rng.choice(["Equals", "IsIn", "StartsWith", "EndsWith", "Contains", "IEquals", "DoesNotEqual", "IsNotNullOrEmpty"])
                pool = vals + [MISSING, "", first.upper()]
                if cond == "IsIn":
                    return Leaf(f"requestParameters.{p}", cond, vals[:2], pool)
                if cond in ("StartsWith", "EndsWith", "Contains"):
                    size = max(3, len(first) * 3 // 4)
                    piece = {"StartsWith": first[:size], "EndsWith": first[-size:], "Contains": first[len(first) // 8:][:size]}[cond]
                    return Leaf(f"requestParameters.{p}", cond, piece, pool)
                return Leaf(f"requestParameters.{p}", cond, None if cond == "IsNotNullOrEmpty" else first, pool)
            c.append(string_leaf)
    return c


LOOSE = {"DoesNotEqual", "IsNotNullOrEmpty", "IsNotIn", "DoesNotContain", "DoesNotStartWith"}


def selective(leaf):
    """Whether few events of the rule's APIs satisfy `leaf` (in real trails and in `detect sample`'s):
    what keeps a rule on a busy API, or on no API at all, from matching much of the traffic."""
    if leaf.path.startswith("requestParameters."):
        return isinstance(leaf.arg, (str, list)) and leaf.cond not in LOOSE
    return (leaf.path, leaf.cond, json.dumps(leaf.arg)) in {
        ("errorCode", "IsIn", json.dumps(["AccessDenied", "UnauthorizedOperation", "Client.UnauthorizedOperation"])),
        ("userIdentity.type", "Equals", '"Root"'),
        ("userIdentity.type", "Equals", '"FederatedUser"'),
        ("userIdentity.arn", "IContains", '"admin"'),
        ("userIdentity.arn", "IContains", '"breakglass"'),
        ("userIdentity.arn", "IContains", '"terraform"'),
        ("userIdentity.sessionContext.sessionIssuer.userName", "StartsWith", '"github-"'),
        ("userIdentity.sessionContext.sessionIssuer.userName", "StartsWith", '"AWSServiceRole"'),
        ("sourceIPAddress", "IsIPAddressInCIDR", '"203.0.113.0/24"'),
        ("userAgent", "IContains", '"S3Browser"'),
        ("userAgent", "IContains", '"python-requests"'),
    }


def comprehension(rng):
    """A list comprehension over a realistic CloudTrail list."""
    kind = rng.randrange(3)
    cond = rng.choice(["AnyElement", "AnyElement", "AllElements", "NoElement"])
    if kind == 0:
        leaves = [Leaf("ipProtocol", "Equals", "-1", ["-1", "tcp", "udp"]),
                  Leaf("fromPort", "IsLessThanOrEquals", 22, [0, 22, 443, 3389, 8080])][: rng.randint(1, 2)]
        return Elements("requestParameters.ipPermissions.items", cond, leaves)
    if kind == 1:
        leaves = [Leaf("instanceType", "IsIn", ["p4d.24xlarge", "g5.12xlarge", "p3.16xlarge"], ["p4d.24xlarge", "t3.micro", "m5.large", "g5.12xlarge"]),
                  Leaf("imageId", "DoesNotStartWith", "ami-0c55", ["ami-0c55b159cbfafe1f0", "ami-0a1b2c3d4e5f67890"])][: rng.randint(1, 2)]
        return Elements("responseElements.instancesSet.items", cond, leaves)
    leaves = [Leaf("type", "Equals", "AWS::S3::Bucket", ["AWS::S3::Bucket", "AWS::S3::Object", "AWS::KMS::Key"]),
              Leaf("ARN", "EndsWith", "-logs", ["arn:aws:s3:::acme-prod-cloudtrail-logs", "arn:aws:s3:::data-lake-raw", "arn:aws:kms:us-east-1:1:key/x-logs"])][: rng.randint(1, 2)]
    return Elements("resources", cond, leaves)


def base_event(rng, source, name, read_only, params):
    account = rng.choice(ACCOUNTS)
    user = rng.choice(USERS)
    role = rng.choice(ROLES)
    identity = rng.choice([
        {"type": "IAMUser", "principalId": "AIDA" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ234567") for _ in range(17)),
         "arn": f"arn:aws:iam::{account}:user/{user}", "accountId": account, "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "userName": user,
         "sessionContext": {"sessionIssuer": {}, "webIdFederationData": {}, "attributes": {"creationDate": "2024-03-01T08:12:44Z", "mfaAuthenticated": "false"}}},
        {"type": "AssumedRole", "principalId": f"AROAEXAMPLEID:{user}", "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{user}",
         "accountId": account, "accessKeyId": "ASIAXAMPLEXAMPLE123",
         "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEID", "arn": f"arn:aws:iam::{account}:role/{role}",
                                              "accountId": account, "userName": role},
                            "webIdFederationData": {}, "attributes": {"creationDate": "2024-03-01T08:12:44Z", "mfaAuthenticated": "true"}}},
        {"type": "Root", "principalId": account, "arn": f"arn:aws:iam::{account}:root", "accountId": account, "accessKeyId": "ASIAROOTEXAMPLE0001"},
    ])
    region = rng.choice(REGIONS)
    request = {p: rng.choice(param_values(p)) for p in params} or None
    return {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": f"2024-03-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z",
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": rng.choice(PUBLIC_IPS + PRIVATE_IPS),
        "userAgent": rng.choice(AGENTS).format(cmd=name.lower()),
        "requestParameters": request,
        "responseElements": None if read_only else {"requestId": f"{rng.getrandbits(32):08x}-1a2b-4c3d-9e8f-{rng.getrandbits(48):012x}"},
        "requestID": f"{rng.getrandbits(32):08x}-5d6e-4f70-8a9b-{rng.getrandbits(48):012x}",
        "eventID": f"{rng.getrandbits(32):08x}-0c1d-4e2f-a3b4-{rng.getrandbits(48):012x}",
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                       "clientProvidedHostHeader": f"{source.split('.')[0]}.{region}.amazonaws.com"},
    }


SEVERITIES = ["Info", "Low", "Medium", "High", "Critical"]
MITRE = ["TA0005:T1562.008", "TA0004:T1098", "TA0010:T1537", "TA0006:T1552", "TA0040:T1485", "TA0003:T1136.003", "TA0007:T1087.004"]
TITLES = [
    "{eventName} by {userIdentity.arn} in account {recipientAccountId}",
    "[{awsRegion}] {userIdentity.type} {userIdentity.userName | userIdentity.sessionContext.sessionIssuer.userName | userIdentity.arn} called {eventName}",
    "{service}: {eventName} from {sourceIPAddress}",
    "{service} {eventName} on {requestParameters.PARAM} by {userIdentity.arn}",
    "Suspicious {service} activity ({eventName}) by {userIdentity.principalId | 'unknown'}",
]


def rule(rng, n):
    source = rng.choice(sorted(SERVICES))
    service, apis = SERVICES[source]
    api_leaves, chosen = api_conditions(rng, source, apis)
    chosen_apis = [a for a in apis if chosen is None or a[0] in chosen] or apis
    params = sorted({p for a in chosen_apis for p in a[2]})
    candidates = extra_conditions(rng, params, chosen_apis[0][1])
    # Selective conditions first: two for a rule on no API (it runs on every event), one for a rule
    # on a read-only (busy) API, one for half of the others; then a few others, some nested.
    read_only = any(a[1] for a in chosen_apis)
    need = 2 if not api_leaves else 1 if read_only or rng.random() < 0.5 else 0
    want = max(need, rng.choice([1, 1, 2, 2, 2, 3, 4]) + (1 if not api_leaves else 0))
    sel, rest, used = [], [], {"eventName", "eventSource"}
    for _ in range(10):  # conditions draw their form at random: a few passes find the selective ones
        rng.shuffle(candidates)
        for make in candidates:
            leaf = make()
            if leaf.path in used:
                continue
            if len(sel) < need and selective(leaf):
                sel.append(leaf)
            elif len(rest) < want - need:
                rest.append(leaf)
            else:
                continue
            used.add(leaf.path)
        if len(sel) == need and len(rest) == want - need:
            break
    assert len(sel) == need, (n, source, chosen)
    # Sometimes nest the others: Any of two, All inside Any, None of one.
    shape = rng.random()
    if shape < 0.15 and len(rest) >= 2:
        rest = rest[:-2] + [Combinator("Any", rest[-2:])]
    elif shape < 0.22 and len(rest) >= 3:
        rest = rest[:-3] + [Combinator("Any", [Combinator("All", rest[-3:-1]), rest[-1]])]
    elif shape < 0.30 and len(rest) >= 1:
        rest = rest[:-1] + [Combinator("None", [rest[-1]])]
    extras = sel + rest
    rng.shuffle(extras)
    if rng.random() < 0.06:
        extras.append(comprehension(rng))
    detection = api_leaves + extras

    api = chosen[0] if chosen else "AnyCall"
    rule_id = f"Synthetic.{service}.{api}.{n:04d}"
    severity = rng.choice(SEVERITIES)
    title = rng.choice(TITLES).replace("{service}", service)
    title = title.replace("PARAM", params[0]) if params else title.replace(" on {requestParameters.PARAM}", "")
    lines = [
        "AnalysisType: rule",
        f"RuleID: {json.dumps(rule_id)}",
        f"DisplayName: {json.dumps(f'{service} {api} ({n})')}",
        f"Enabled: {'false' if rng.random() < 0.05 else 'true'}",
        "LogTypes:",
        "  - AWS.CloudTrail",
        "Tags:",
        f"  - {service}",
        f"  - {rng.choice(['Defense Evasion', 'Persistence', 'Privilege Escalation', 'Exfiltration', 'Discovery', 'Impact'])}",
        f"Severity: {severity}",
        f"Description: {json.dumps(f'Synthetic rule {n} for the scale benchmark: {service} {api} under unusual conditions.')}",
        f"Reference: https://docs.aws.amazon.com/{service.lower()}/latest/APIReference/API_{api}.html",
        f"Runbook: {json.dumps(f'Check whether {api} was expected for this principal; revert the change if not.')}",
    ]
    if rng.random() < 0.5:
        lines += ["Reports:", "  MITRE ATT&CK:", f"    - {rng.choice(MITRE)}"]
    if rng.random() < 0.3:
        lines.append(f"DedupPeriodMinutes: {rng.choice([15, 60, 360, 1440])}")
    if rng.random() < 0.08:
        lines.append(f"Threshold: {rng.choice([5, 10, 50])}")
    if rng.random() < 0.05:
        lines.append("CreateAlert: false")
    lines.append("Detection:")
    for expr in detection:
        lines += expr.yaml("  ")
    lines.append(f"AlertTitle: {json.dumps(title)}")
    if rng.random() < 0.25:
        lines += ["GroupBy:", "  - KeyPath: userIdentity.arn"] + (["  - KeyPath: recipientAccountId"] if rng.random() < 0.5 else [])
    if rng.random() < 0.7:
        lines.append("AlertContext:")
        keys = ["eventName", "awsRegion", "sourceIPAddress", "userAgent", "recipientAccountId", "userIdentity.arn"] + \
               [f"requestParameters.{p}" for p in params]
        for k in rng.sample(keys, rng.randint(2, 5)):
            lines += [f"  - KeyName: {k.split('.')[-1]}", "    KeyValue:", f"      KeyPath: {k}"]
    if rng.random() < 0.1:
        lines += ["DynamicSeverities:", "  - ChangeTo: Critical", "    Conditions:",
                  "      - KeyPath: userIdentity.type", "        Condition: Equals", "        Value: Root"]

    # Tests: one match; then breaking the API condition (another call), then another condition.
    tests = []
    apis_by_name = {a[0]: a for a in apis}

    def event(breaks):
        name = rng.choice(chosen) if chosen else rng.choice(apis)[0]
        _, read_only, ps = apis_by_name[name]
        e = base_event(rng, source, name, read_only, ps)
        for i, expr in enumerate(detection):
            expr.make(e, rng, i != breaks)
        return e

    tests.append((f"{api} matches", True, event(None)))
    count = rng.choice([1, 2, 2, 3, 3])
    order = list(range(len(detection)))
    api_idx = [i for i, e in enumerate(detection) if isinstance(e, Leaf) and e.path == "eventName"]
    rest = [i for i in order if i not in api_idx]
    rng.shuffle(rest)
    for k in (api_idx + rest)[: count - 1]:
        what = "another call" if k in api_idx else f"condition {k + 1} fails"
        tests.append((f"{what}: no match", False, event(k)))
    lines.append("Tests:")
    for name, expected, log in tests:
        lines += [f"  - Name: {json.dumps(name)}", f"    ExpectedResult: {'true' if expected else 'false'}",
                  f"    Log: {json.dumps(log)}"]
    fname = f"synthetic_{n:04d}_{service.lower()}_{api.lower()}.yml"
    return fname, "\n".join(lines) + "\n", (rule_id, detection)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=pathlib.Path)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--report-matches", type=pathlib.Path, metavar="JSONL",
                        help="also report how many of these events (e.g. `detect sample`'s) the rules match, "
                             "by this script's own reading of the conditions (exact keys only)")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    for old in args.dir.glob("synthetic_*.yml"):
        old.unlink()
    rng = random.Random(args.seed)
    rules = []
    for n in range(1, args.count + 1):
        fname, text, detection = rule(rng, n)
        (args.dir / fname).write_text(text)
        rules.append(detection)
    print(f"wrote {args.count} rules to {args.dir}", file=sys.stderr)
    if args.report_matches:
        report(rules, args.report_matches)


def report(rules, path):
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    per_rule = {rule_id: 0 for rule_id, _ in rules}
    matched = 0
    for event in events:
        hit = [rule_id for rule_id, detection in rules if all(e.eval(event) for e in detection)]
        matched += bool(hit)
        for rule_id in hit:
            per_rule[rule_id] += 1
    top = sorted(per_rule.items(), key=lambda x: -x[1])[:10]
    print(f"{path}: {matched} of {len(events)} events ({100 * matched / len(events):.2f} %) match a synthetic rule; "
          f"{sum(per_rule.values())} matches by {sum(1 for v in per_rule.values() if v)} rules; most: "
          + ", ".join(f"{r} {c}" for r, c in top), file=sys.stderr)


if __name__ == "__main__":
    main()
