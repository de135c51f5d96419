// Who writes a region's load balancer access logs into S3: the ELB account of an older region, or the log delivery service.

/**
 * The Elastic Load Balancing account of each Region that opened before August
 * 2022. Its bucket policy must name that account as the writer. Copied from
 * the AWS provider's `aws_elb_service_account` table
 * (hashicorp/terraform-provider-aws internal/service/elb/service_account_data_source.go),
 * which follows https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html
 */
export const ELB_ACCOUNT_BY_REGION: Readonly<Record<string, string>> = {
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331",
    "ap-south-1": "718504428378",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-southeast-3": "589379963580",
    "ca-central-1": "985666609251",
    "cn-north-1": "638102146993",
    "cn-northwest-1": "037604701340",
    "eu-central-1": "054676820928",
    "eu-north-1": "897822967062",
    "eu-south-1": "635631232127",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-west-3": "009996457667",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-gov-east-1": "190560391635",
    "us-gov-west-1": "048591011584",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
};

/**
 * Regions opened in August 2022 or later have no ELB account; the bucket
 * policy names this service principal instead (same AWS page, "Regions
 * available as of August 2022 or later").
 */
export const ELB_LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com";

/** The bucket-policy principal that lets the region's load balancers write access logs. */
export function elbLogDeliveryPrincipal(region: string, partition = "aws"): { AWS: string } | { Service: string } {
    const account = ELB_ACCOUNT_BY_REGION[region];
    return account ? { AWS: `arn:${partition}:iam::${account}:root` } : { Service: ELB_LOG_DELIVERY_SERVICE };
}

