locals {
  # One topic per event type, read from the event schemas (each description ends "Topic: <name>."), so
  # a new event type needs a schema and no Terraform edit.
  event_schema_dir = "${path.module}/../schemas/events"
  event_topics = toset([
    for file in fileset(local.event_schema_dir, "mlops.*.json") :
    regex("Topic: ([a-z][a-z0-9-]*)", jsondecode(file("${local.event_schema_dir}/${file}")).description)[0]
  ])

  # The Cloud Run services: the topics each consumes (one Eventarc trigger each) and the event topics
  # it may publish to. A topic listed here but not (yet) defined by a schema is skipped.
  # Every consumer may also publish stage-failed and dead-letter (the runtime dead-letters itself).
  services = {
    "sales-gen"   = { consumes = ["pipeline-start"], publishes = ["sales-generated", "stage-skipped"] }
    "click-gen"   = { consumes = ["pipeline-start"], publishes = ["bronze-landed", "stage-skipped"] }
    "startup-gen" = { consumes = ["pipeline-start"], publishes = ["bronze-landed", "stage-skipped"] }
    "lander"      = { consumes = ["sales-generated"], publishes = ["bronze-landed"] }
    "transformer" = { consumes = ["bronze-landed", "dataform-completions"], publishes = ["warehouse-ready", "stage-skipped"] }
    "trainer"     = { consumes = ["warehouse-ready", "stage-failed", "vertex-completions"], publishes = ["model-trained", "predictions-ready", "stage-skipped"] }
    "dashboard"   = { consumes = sort(tolist(local.event_topics)), publishes = [] }
    # Turns every Pub/Sub dead letter into a stage.failed; publishes nothing else, so it cannot loop.
    "dead-letters" = { consumes = ["dead-letter"], publishes = [] }
  }

  # The process each service runs in the platform image: the compiled JavaScript, with plain node.
  commands = merge(
    { for service in keys(local.services) : service => ["node", "services/${service}/dist/main.js"] },
    {
      # The relay of Pub/Sub dead letters to stage.failed: an entry of the CLI's runtime.
      "dead-letters" = ["node", "cli/dist/main.js", "dlq", "relay"]
      "scheduler"    = ["node", "cli/dist/main.js", "schedule", "--once"]
    },
  )

  # Topics that are not event types: dead letters, and the Cloud Logging sinks of job completions.
  completion_topics = ["dataform-completions", "vertex-completions"]
  all_topics = merge(
    { for topic in local.event_topics : topic => google_pubsub_topic.event[topic].id },
    { "dead-letter" = google_pubsub_topic.dead_letter.id },
    { for topic in local.completion_topics : topic => google_pubsub_topic.completion[topic].id },
  )

  triggers = merge([
    for service, spec in local.services : {
      for topic in spec.consumes : "${service}--${topic}" => { service = service, topic = topic }
    }
  ]...)

  publishers = merge([
    for service, spec in local.services : {
      for topic in setintersection(
        toset(concat(spec.publishes, service == "dead-letters" ? ["stage-failed"] : ["stage-failed", "dead-letter"])),
        toset(concat(tolist(local.event_topics), ["dead-letter"])),
      ) : "${service}--${topic}" => { service = service, topic = topic }
    }
  ]...)

  common_env = {
    MLOPS_MODE              = "gcp"
    MLOPS_TRANSPORT         = "http"
    GOOGLE_CLOUD_PROJECT    = var.project_id
    MLOPS_REGION            = var.region
    MLOPS_LAKE              = "gs://${var.lake_bucket}"
    MLOPS_BIGQUERY_LOCATION = var.bigquery_location
    MLOPS_SCALE             = tostring(var.scale)
    MLOPS_MAX_ATTEMPTS      = tostring(var.max_delivery_attempts)
  }

  # What only some services need in their environment.
  service_env = {
    "transformer" = {
      DATAFORM_REPOSITORY    = google_dataform_repository.mlops.id
      DATAFORM_GIT_COMMITISH = var.dataform_git_branch
      MLOPS_SERVICE_ACCOUNT  = google_service_account.dataform.email
    }
    "trainer" = {
      MLOPS_SERVICE_ACCOUNT = google_service_account.vertex_steps.email
      VERTEX_PIPELINE_ROOT  = "gs://${var.lake_bucket}/mlops/pipeline-root"
      MLOPS_IMAGE           = var.image
    }
  }
}

data "google_project" "this" {}

resource "google_project_service" "apis" {
  for_each = toset([
    "run.googleapis.com", "eventarc.googleapis.com", "pubsub.googleapis.com", "firestore.googleapis.com",
    "storage.googleapis.com", "bigquery.googleapis.com", "dataform.googleapis.com", "aiplatform.googleapis.com",
    "cloudscheduler.googleapis.com", "secretmanager.googleapis.com", "artifactregistry.googleapis.com",
    "logging.googleapis.com", "monitoring.googleapis.com",
  ])
  service            = each.value
  disable_on_destroy = false
}
