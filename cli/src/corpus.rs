//! A seeded generator of realistic CloudTrail events: the shipped sample
//! (`examples/cloudtrail.jsonl`) and the benchmark corpus.
//!
//! Owns the shapes: event families with a skewed frequency (AssumeRole and KMS calls dominate,
//! as in real trails), nested `userIdentity`, `requestParameters` and `responseElements`, a share
//! of failed calls, and sizes like real events (median about 0.9 KB, p90 about 2 KB, as the
//! upstream test logs). A small share of events are attacks: positive test logs of shipped rules,
//! with fresh ids and times. The same seed gives the same bytes.
//! Must not: read anything; the output depends on the seed and the sizes only.

use serde_json::{Value, json};

/// SplitMix64: small, fast, and good enough to make test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn hex(&mut self, len: usize) -> String {
        (0..len).map(|_| char::from_digit(self.below(16) as u32, 16).expect("hex digit")).collect()
    }

    fn upper(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        (0..len).map(|_| char::from(ALPHABET[self.below(32) as usize])).collect()
    }

    fn token(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        (0..len).map(|_| char::from(ALPHABET[self.below(64) as usize])).collect()
    }

    fn uuid(&mut self) -> String {
        format!("{}-{}-{}-{}-{}", self.hex(8), self.hex(4), self.hex(4), self.hex(4), self.hex(12))
    }
}

const ACCOUNTS: &[&str] = &["123456789012", "210987654321", "555566667777", "777788889999"];
const REGIONS: &[&str] =
    &["us-east-1", "us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"];
const USERS: &[&str] = &["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"];
const ROLES: &[&str] = &[
    "OrganizationAccountAccessRole",
    "AWSReservedSSO_ReadOnly_3f2a1b",
    "ci-deployer",
    "lambda-exec-role",
    "eks-node-role",
    "DataPipelineRole",
];
const AGENTS: &[&str] = &[
    "console.amazonaws.com",
    "console.amazonaws.com",
    "AWS Internal",
    "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.8",
    "Boto3/1.34.59 Python/3.12.2 Linux/5.10.209 Botocore/1.34.59",
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0-18-amd64 exe/x86_64.debian.12 prompt/off command/sts.assume-role",
    "Boto3/1.34.59 md/Botocore#1.34.59 ua/2.0 os/linux#5.10.209-198.858.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.59",
    "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.0 md/GOOS#linux md/GOARCH#amd64 api/sts#1.28.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "console.amazonaws.com",
    "aws-internal/3 aws-sdk-java/1.12.654 Linux/5.10.209-177.828.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.402-b07 java/1.8.0_402 vendor/Oracle_Corporation cfg/retry-mode/standard",
    "terraform-provider-aws/5.40.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.25.2",
];

/// (eventName, eventSource, weight, readOnly): the background, most frequent first. As in real
/// trails, read-only calls from automation dominate; console logins and IAM changes are rare.
const FAMILIES: &[(&str, &str, u32, bool)] = &[
    ("AssumeRole", "sts.amazonaws.com", 210, true),
    ("Decrypt", "kms.amazonaws.com", 210, true),
    ("DescribeInstances", "ec2.amazonaws.com", 180, true),
    ("CreateLogStream", "logs.amazonaws.com", 150, false),
    ("GetCallerIdentity", "sts.amazonaws.com", 150, true),
    ("GetParameter", "ssm.amazonaws.com", 135, true),
    ("GenerateDataKey", "kms.amazonaws.com", 90, true),
    ("DescribeSecurityGroups", "ec2.amazonaws.com", 90, true),
    ("GetBucketAcl", "s3.amazonaws.com", 90, true),
    ("ListBuckets", "s3.amazonaws.com", 60, true),
    ("DescribeVolumes", "ec2.amazonaws.com", 54, true),
    ("GetRole", "iam.amazonaws.com", 45, true),
    ("ListRoles", "iam.amazonaws.com", 36, true),
    ("DescribeDBInstances", "rds.amazonaws.com", 30, true),
    ("ListFunctions20150331", "lambda.amazonaws.com", 30, true),
    ("GetFunction20150331v2", "lambda.amazonaws.com", 24, true),
    ("PutObject", "s3.amazonaws.com", 24, false),
    ("GetSecretValue", "secretsmanager.amazonaws.com", 15, true),
    ("CreateTags", "ec2.amazonaws.com", 15, false),
    ("UpdateItem", "dynamodb.amazonaws.com", 12, false),
    ("RunInstances", "ec2.amazonaws.com", 10, false),
    ("StartInstances", "ec2.amazonaws.com", 3, false),
    ("ConsoleLogin", "signin.amazonaws.com", 2, false),
    ("PutRolePolicy", "iam.amazonaws.com", 1, false),
    ("CreateAccessKey", "iam.amazonaws.com", 1, false),
];

/// Generates CloudTrail events, one compact JSON object per call.
pub struct Generator {
    rng: Rng,
    time_ms: i64,
    /// The share of events that are attacks (positive test logs of shipped rules).
    attack_share: f64,
    attacks: Vec<Value>,
    total_weight: u32,
    /// The share of IAM user calls made with a long-term access key (`AKIA…`).
    long_term_keys: f64,
}

/// The two corpus shapes the benchmarks measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// Real trails of automation: long-term keys rare, so few events match an enabled rule.
    Low,
    /// A trail where the signal `AWS.CloudTrail.UserAccessKeyAuth` (long-term access keys) fires
    /// on about 15 % of events and 2 % are attacks (rules with large alert contexts among them):
    /// the match path is hot.
    High,
}

impl Profile {
    /// `(attack share, share of IAM user calls with a long-term key)`.
    pub fn shares(self) -> (f64, f64) {
        match self {
            Profile::Low => (0.002, 0.002),
            // IAM users make 37 % of background calls and 98 % of those succeed: 0.41 of them
            // with an AKIA key is 15 % of events.
            Profile::High => (0.02, 0.41),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Profile::Low => "low",
            Profile::High => "high",
        }
    }
}

impl std::str::FromStr for Profile {
    type Err = String;

    fn from_str(s: &str) -> Result<Profile, String> {
        match s {
            "low" => Ok(Profile::Low),
            "high" => Ok(Profile::High),
            _ => Err(format!("unknown profile `{s}` (expected low or high)")),
        }
    }
}

/// 2024-03-01T00:00:00Z.
const START_MS: i64 = 1_709_251_200_000;

impl Generator {
    pub fn new(seed: u64, attack_share: f64) -> Generator {
        Generator {
            rng: Rng::new(seed),
            time_ms: START_MS,
            attack_share,
            attacks: attacks().into_iter().map(|(_, event)| event).collect(),
            total_weight: FAMILIES.iter().map(|f| f.2).sum(),
            long_term_keys: Profile::Low.shares().1,
        }
    }

    /// A generator of `profile`'s shape. The same random draws as [`Generator::new`]: only the
    /// shares differ.
    pub fn with_profile(seed: u64, profile: Profile) -> Generator {
        let (attack_share, long_term_keys) = profile.shares();
        Generator { long_term_keys, ..Generator::new(seed, attack_share) }
    }

    /// The same generator with another share of attacks.
    pub fn with_attack_share(self, attack_share: f64) -> Generator {
        Generator { attack_share, ..self }
    }

    /// The next event, as one line of JSON (no newline), as Panther stores it: with
    /// `p_log_type` and `p_event_time`.
    pub fn next_event(&mut self) -> String {
        // About 20 events a second, bursty.
        self.time_ms += self.rng.below(100) as i64 * if self.rng.chance(0.05) { 20 } else { 1 };
        let rfc3339 = detections::time::format(self.time_ms);
        let time = format!("{}Z", &rfc3339[..19]);
        let panther_time = format!("{} {}.000000000", &rfc3339[..10], &rfc3339[11..19]);
        let mut event = if self.rng.chance(self.attack_share) {
            self.attack(&time)
        } else {
            self.background_event(&time)
        };
        if let Some(map) = event.as_object_mut() {
            map.insert("p_log_type".into(), json!("AWS.CloudTrail"));
            map.insert("p_event_time".into(), json!(panther_time));
        }
        event.to_string()
    }

    fn background_event(&mut self, time: &str) -> Value {
        let mut pick = self.rng.below(u64::from(self.total_weight)) as u32;
        let family = FAMILIES
            .iter()
            .find(|f| {
                if pick < f.2 {
                    true
                } else {
                    pick -= f.2;
                    false
                }
            })
            .expect("weights sum up");
        self.background(family, time)
    }

    fn identity(&mut self, account: &str) -> Value {
        let r = self.rng.below(100);
        let access_key = format!("ASIA{}", self.rng.upper(16));
        if r < 28 {
            let role = *self.rng.pick(ROLES);
            let session = format!("{}-{}", self.rng.pick(USERS), self.rng.hex(6));
            let principal = format!("AROA{}", self.rng.upper(17));
            json!({
                "type": "AssumedRole",
                "principalId": format!("{principal}:{session}"),
                "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
                "accountId": account,
                "accessKeyId": access_key,
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": principal,
                        "arn": format!("arn:aws:iam::{account}:role/{role}"),
                        "accountId": account,
                        "userName": role,
                    },
                    "webIdFederationData": {},
                    "attributes": {"creationDate": "2024-03-01T00:00:00Z", "mfaAuthenticated": "false"},
                },
            })
        } else if r < 65 {
            let user = *self.rng.pick(USERS);
            json!({
                "type": "IAMUser",
                "principalId": format!("AIDA{}", self.rng.upper(17)),
                "arn": format!("arn:aws:iam::{account}:user/{user}"),
                "accountId": account,
                // Long-term keys (AKIA) are rare: most IAM user calls come from console sessions.
                "accessKeyId": format!("{}{}", if self.rng.chance(self.long_term_keys) { "AKIA" } else { "ASIA" }, self.rng.upper(16)),
                "userName": user,
            })
        } else if r < 99 {
            json!({"type": "AWSService", "invokedBy": *self.rng.pick(&["ec2.amazonaws.com", "lambda.amazonaws.com", "cloudformation.amazonaws.com", "autoscaling.amazonaws.com"])})
        } else {
            json!({
                "type": "Root",
                "principalId": account,
                "arn": format!("arn:aws:iam::{account}:root"),
                "accountId": account,
                "accessKeyId": access_key,
            })
        }
    }

    fn background(&mut self, &(name, source, _, read_only): &(&str, &str, u32, bool), time: &str) -> Value {
        let account = *self.rng.pick(ACCOUNTS);
        let region = *self.rng.pick(REGIONS);
        let identity = self.identity(account);
        let service = identity["type"] == "AWSService";
        let ip = if service {
            identity["invokedBy"].as_str().unwrap_or("AWS Internal").to_string()
        } else {
            format!(
                "{}.{}.{}.{}",
                3 + self.rng.below(200),
                self.rng.below(256),
                self.rng.below(256),
                1 + self.rng.below(254)
            )
        };
        let agent = if service { ip.clone() } else { (*self.rng.pick(AGENTS)).to_string() };
        let (request, response, resources) = self.payload(name, account, region);
        let failed = !service && self.rng.chance(0.02);
        let mut event = json!({
            "eventVersion": "1.09",
            "userIdentity": identity,
            "eventTime": time,
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": ip,
            "userAgent": agent,
        });
        let map = event.as_object_mut().expect("an object");
        if failed {
            map.insert("errorCode".into(), json!("AccessDenied"));
            map.insert(
                "errorMessage".into(),
                json!(format!("User is not authorized to perform: {}:{name} because no identity-based policy allows the action", source.trim_end_matches(".amazonaws.com"))),
            );
        }
        map.insert("requestParameters".into(), request);
        map.insert("responseElements".into(), if failed { Value::Null } else { response });
        map.insert("requestID".into(), json!(self.rng.uuid()));
        map.insert("eventID".into(), json!(self.rng.uuid()));
        map.insert("readOnly".into(), json!(read_only));
        if let Some(resources) = resources {
            map.insert("resources".into(), resources);
        }
        map.insert("eventType".into(), json!("AwsApiCall"));
        map.insert("managementEvent".into(), json!(name != "PutObject"));
        map.insert("recipientAccountId".into(), json!(account));
        map.insert("eventCategory".into(), json!(if name == "PutObject" { "Data" } else { "Management" }));
        // Older trails (eventVersion 1.05 to 1.07) carry no tlsDetails.
        if !service && self.rng.chance(0.4) {
            map.insert(
                "tlsDetails".into(),
                json!({"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": format!("{}.{region}.amazonaws.com", source.trim_end_matches(".amazonaws.com"))}),
            );
        }
        event
    }

    /// requestParameters, responseElements and resources of one call.
    fn payload(&mut self, name: &str, account: &str, region: &str) -> (Value, Value, Option<Value>) {
        let key_arn = format!("arn:aws:kms:{region}:{account}:key/{}", self.rng.uuid());
        match name {
            "AssumeRole" => {
                let role = *self.rng.pick(ROLES);
                let session = format!("{}-{}", self.rng.pick(USERS), self.rng.hex(8));
                let token_len = 400 + self.rng.below(600) as usize;
                (
                    json!({"roleArn": format!("arn:aws:iam::{account}:role/{role}"), "roleSessionName": session, "durationSeconds": 3600}),
                    json!({
                        "credentials": {"accessKeyId": format!("ASIA{}", self.rng.upper(16)), "sessionToken": self.rng.token(token_len), "expiration": "Mar 1, 2024, 1:00:00 AM"},
                        "assumedRoleUser": {"assumedRoleId": format!("AROA{}:{session}", self.rng.upper(17)), "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{session}")},
                    }),
                    Some(
                        json!([{"accountId": account, "type": "AWS::IAM::Role", "ARN": format!("arn:aws:iam::{account}:role/{role}")}]),
                    ),
                )
            }
            "Decrypt" | "GenerateDataKey" => (
                json!({
                    "encryptionContext": {"aws:lambda:FunctionArn": format!("arn:aws:lambda:{region}:{account}:function:{}", self.rng.pick(&["billing", "ingest", "auth", "reports"]))},
                    "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                    "keyId": key_arn,
                }),
                Value::Null,
                Some(json!([{"accountId": account, "type": "AWS::KMS::Key", "ARN": key_arn}])),
            ),
            "DescribeInstances" | "StartInstances" | "CreateTags" => {
                let items: Vec<Value> = (0..1 + self.rng.below(3))
                    .map(|_| json!({"instanceId": format!("i-0{}", self.rng.hex(16))}))
                    .collect();
                let request = if name == "CreateTags" {
                    json!({"resourcesSet": {"items": [{"resourceId": format!("i-0{}", self.rng.hex(16))}]}, "tagSet": {"items": [{"key": "team", "value": self.rng.pick(USERS)}]}})
                } else {
                    json!({"instancesSet": {"items": items}, "filterSet": {}})
                };
                let response = if name == "StartInstances" {
                    json!({"requestId": self.rng.uuid(), "instancesSet": {"items": items.iter().map(|i| json!({"instanceId": i["instanceId"], "currentState": {"code": 0, "name": "pending"}, "previousState": {"code": 80, "name": "stopped"}})).collect::<Vec<_>>()}})
                } else {
                    Value::Null
                };
                (request, response, None)
            }
            "RunInstances" => {
                let id = format!("i-0{}", self.rng.hex(16));
                (
                    json!({"instancesSet": {"items": [{"imageId": format!("ami-0{}", self.rng.hex(16)), "minCount": 1, "maxCount": 1}]}, "instanceType": "t3.medium", "blockDeviceMapping": {}, "monitoring": {"enabled": false}, "disableApiTermination": false, "disableApiStop": false, "clientToken": self.rng.uuid()}),
                    json!({"requestId": self.rng.uuid(), "reservationId": format!("r-0{}", self.rng.hex(16)), "ownerId": account, "groupSet": {}, "instancesSet": {"items": [{"instanceId": id, "imageId": format!("ami-0{}", self.rng.hex(16)), "instanceState": {"code": 0, "name": "pending"}, "privateDnsName": format!("ip-10-0-{}-{}.{region}.compute.internal", self.rng.below(256), self.rng.below(256)), "amiLaunchIndex": 0, "productCodes": {}, "instanceType": "t3.medium", "launchTime": 1709251200000i64, "placement": {"availabilityZone": format!("{region}a"), "tenancy": "default"}, "monitoring": {"state": "disabled"}, "subnetId": format!("subnet-0{}", self.rng.hex(16)), "vpcId": format!("vpc-0{}", self.rng.hex(16)), "privateIpAddress": format!("10.0.{}.{}", self.rng.below(256), self.rng.below(256)), "stateReason": {"code": "pending", "message": "pending"}, "architecture": "x86_64", "rootDeviceType": "ebs", "rootDeviceName": "/dev/xvda", "blockDeviceMapping": {}, "virtualizationType": "hvm", "hypervisor": "xen", "groupSet": {"items": [{"groupId": format!("sg-0{}", self.rng.hex(16)), "groupName": "default"}]}, "networkInterfaceSet": {}, "ebsOptimized": false, "enaSupport": true, "cpuOptions": {"coreCount": 1, "threadsPerCore": 2}, "capacityReservationSpecification": {"capacityReservationPreference": "open"}, "enclaveOptions": {"enabled": false}, "metadataOptions": {"state": "pending", "httpTokens": "required", "httpPutResponseHopLimit": 2, "httpEndpoint": "enabled"}}]}}),
                    None,
                )
            }
            "GetParameter" => (
                json!({"name": format!("/{}/{}/{}", self.rng.pick(&["prod", "staging", "dev"]), self.rng.pick(&["db", "api", "cache"]), self.rng.pick(&["url", "password", "port"])), "withDecryption": self.rng.chance(0.5)}),
                Value::Null,
                None,
            ),
            "CreateLogStream" => (
                json!({"logGroupName": format!("/aws/lambda/{}-{}", self.rng.pick(&["billing", "ingest", "auth"]), self.rng.hex(6)), "logStreamName": format!("2024/03/01/[$LATEST]{}", self.rng.hex(32))}),
                Value::Null,
                None,
            ),
            "GetBucketAcl" | "ListBuckets" | "PutObject" => {
                let bucket = format!(
                    "{}-{}-{}",
                    self.rng.pick(&["logs", "data", "backups", "assets"]),
                    account,
                    region
                );
                let request = match name {
                    "ListBuckets" => json!({"Host": "s3.amazonaws.com"}),
                    "PutObject" => {
                        json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{region}.amazonaws.com"), "key": format!("{}/{}.json.gz", self.rng.hex(8), self.rng.hex(12))})
                    }
                    _ => {
                        json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{region}.amazonaws.com"), "acl": ""})
                    }
                };
                let resources = (name != "ListBuckets")
                    .then(|| json!([{"type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")}]));
                (request, Value::Null, resources)
            }
            "GetSecretValue" => (
                json!({"secretId": format!("arn:aws:secretsmanager:{region}:{account}:secret:{}-{}", self.rng.pick(&["db", "api"]), self.rng.token(6))}),
                Value::Null,
                None,
            ),
            "ConsoleLogin" => (
                Value::Null,
                json!({"ConsoleLogin": if self.rng.chance(0.9) { "Success" } else { "Failure" }}),
                None,
            ),
            "PutRolePolicy" => (
                json!({"roleName": *self.rng.pick(ROLES), "policyName": "inline", "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\"],\"Resource\":\"*\"}]}"}),
                Value::Null,
                None,
            ),
            "CreateAccessKey" => {
                let user = *self.rng.pick(USERS);
                (
                    json!({"userName": user}),
                    json!({"accessKey": {"userName": user, "accessKeyId": format!("AKIA{}", self.rng.upper(16)), "status": "Active", "createDate": "Mar 1, 2024, 12:00:00 AM"}}),
                    None,
                )
            }
            _ => (json!({"maxResults": 100}), Value::Null, None),
        }
    }

    /// One attack: a positive test log of a shipped rule, with a fresh time and ids.
    fn attack(&mut self, time: &str) -> Value {
        let mut event = self.rng.pick(&self.attacks).clone();
        if let Some(map) = event.as_object_mut() {
            map.insert("eventTime".into(), json!(time));
            if map.contains_key("eventID") {
                map.insert("eventID".into(), json!(self.rng.uuid()));
            }
        }
        event
    }
}

/// (rule id, positive test log) of shipped rules: the attacks the generator injects.
/// The logs are upstream test cases (panther-analysis, Apache-2.0).
/// The attacks the generator injects: one positive test log each of some shipped rules
/// (upstream test cases of panther-analysis, Apache-2.0), as `{"rule", "source", "log"}` lines.
const ATTACKS: &str = include_str!("attacks.jsonl");

/// (rule id, event) of every attack template.
pub fn attacks() -> Vec<(String, Value)> {
    ATTACKS
        .lines()
        .map(|line| {
            let mut record: Value = serde_json::from_str(line).expect("attacks.jsonl holds JSON lines");
            let rule = record["rule"].as_str().expect("a rule id").to_string();
            (rule, record["log"].take())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_events() {
        let a: Vec<String> = {
            let mut g = Generator::new(7, 0.01);
            (0..200).map(|_| g.next_event()).collect()
        };
        let b: Vec<String> = {
            let mut g = Generator::new(7, 0.01);
            (0..200).map(|_| g.next_event()).collect()
        };
        assert_eq!(a, b);
        let c: Vec<String> = {
            let mut g = Generator::new(8, 0.01);
            (0..200).map(|_| g.next_event()).collect()
        };
        assert_ne!(a, c);
    }

    /// The high-match profile: long-term access keys on about 15 % of events, so that the
    /// signal `AWS.CloudTrail.UserAccessKeyAuth` fires on them; the low one keeps them rare.
    #[test]
    fn profiles_set_the_share_of_long_term_keys() {
        let share = |profile| {
            let mut g = Generator::with_profile(3, profile);
            let n = 20_000;
            let akia = (0..n)
                .filter(|_| {
                    let e: Value = serde_json::from_str(&g.next_event()).unwrap();
                    e["userIdentity"]["accessKeyId"].as_str().is_some_and(|k| k.starts_with("AKIA"))
                        && e.get("errorCode").is_none()
                })
                .count();
            akia as f64 / n as f64
        };
        let high = share(Profile::High);
        assert!((0.13..0.17).contains(&high), "{high}");
        assert!(share(Profile::Low) < 0.01);
        // The low profile is the generator of the shipped sample, draw for draw.
        let mut a = Generator::with_profile(1, Profile::Low).with_attack_share(0.01);
        let mut b = Generator::new(1, 0.01);
        assert!((0..500).all(|_| a.next_event() == b.next_event()));
    }

    #[test]
    fn sizes_look_like_real_cloudtrail() {
        let mut g = Generator::new(1, 0.0);
        let mut sizes: Vec<usize> = (0..20_000).map(|_| g.next_event().len()).collect();
        sizes.sort_unstable();
        let (median, p90) = (sizes[sizes.len() / 2], sizes[sizes.len() * 9 / 10]);
        assert!((800..=1100).contains(&median), "median {median}");
        assert!((1500..=2500).contains(&p90), "p90 {p90}");
    }

    #[test]
    fn attack_templates_are_events_of_their_rules() {
        let attacks = attacks();
        // Those rules alone (whatever other rules `rules/` holds).
        let rule_ids = attacks.iter().map(|(rule, _)| rule.clone()).collect();
        let engine = detections::Engine::new(
            detections::rules::by_log_type::ALL,
            &detections::Selection { include_disabled: true, rule_ids, ..Default::default() },
        );
        assert!(attacks.len() >= 20);
        for (rule_id, log) in attacks {
            let found = engine.evaluate(&log, Some("AWS.CloudTrail")).expect("a valid event");
            assert!(found.iter().any(|m| m.rule.meta.id == rule_id), "{rule_id} does not match its template");
        }
    }
}
