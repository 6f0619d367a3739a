# Topics, the dead-letter topic and its handler, the completion topics fed by Cloud Logging, and one
# Eventarc trigger per (service, topic).

resource "google_pubsub_topic" "event" {
  for_each                   = local.event_topics
  name                       = each.value
  message_retention_duration = "604800s" # 7 days: what `mlops replay --since` can reach
  depends_on                 = [google_project_service.apis]
}

resource "google_pubsub_topic" "dead_letter" {
  name                       = "dead-letter"
  message_retention_duration = "604800s"
  depends_on                 = [google_project_service.apis]
}

# Where `mlops dlq list|redrive` reads dead letters from (the Pub/Sub adapter's listing subscription).
resource "google_pubsub_subscription" "dead_letter_listing" {
  name                       = "dead-letter.listing"
  topic                      = google_pubsub_topic.dead_letter.id
  message_retention_duration = "604800s"
  retain_acked_messages      = true
  ack_deadline_seconds       = 60
  expiration_policy { ttl = "" }
}

# Dataform workflow invocations and Vertex AI pipeline jobs announce their end in Cloud Logging;
# these sinks forward those entries (the LogEntry as JSON) to the transformer and the trainer.
resource "google_pubsub_topic" "completion" {
  for_each                   = toset(local.completion_topics)
  name                       = each.value
  message_retention_duration = "604800s"
  depends_on                 = [google_project_service.apis]
}

locals {
  completion_filters = {
    "dataform-completions" = join(" AND ", [
      "logName=\"projects/${var.project_id}/logs/dataform.googleapis.com%2Fworkflow_invocation_completion\"",
      "resource.type=\"dataform.googleapis.com/Repository\"",
      "resource.labels.repository_id=\"${google_dataform_repository.mlops.name}\"",
    ])
    "vertex-completions" = join(" AND ", [
      "logName=\"projects/${var.project_id}/logs/aiplatform.googleapis.com%2Fpipeline_job_events\"",
      "resource.type=\"aiplatform.googleapis.com/PipelineJob\"",
      "jsonPayload.state=(\"PIPELINE_STATE_SUCCEEDED\" OR \"PIPELINE_STATE_FAILED\" OR \"PIPELINE_STATE_CANCELLED\")",
    ])
  }
}

resource "google_logging_project_sink" "completion" {
  for_each               = toset(local.completion_topics)
  name                   = "mlops-${each.value}"
  destination            = "pubsub.googleapis.com/${google_pubsub_topic.completion[each.value].id}"
  filter                 = local.completion_filters[each.value]
  unique_writer_identity = true
}

resource "google_pubsub_topic_iam_member" "sink_writer" {
  for_each = toset(local.completion_topics)
  topic    = google_pubsub_topic.completion[each.value].id
  role     = "roles/pubsub.publisher"
  member   = google_logging_project_sink.completion[each.value].writer_identity
}

resource "google_eventarc_trigger" "consumer" {
  for_each        = local.triggers
  name            = "${each.value.service}-${each.value.topic}"
  location        = var.region
  service_account = google_service_account.eventarc.email
  matching_criteria {
    attribute = "type"
    value     = "google.cloud.pubsub.topic.v1.messagePublished"
  }
  transport {
    pubsub { topic = local.all_topics[each.value.topic] }
  }
  destination {
    cloud_run_service {
      service = google_cloud_run_v2_service.service[each.value.service].name
      region  = var.region
    }
  }
  depends_on = [google_project_iam_member.grant, google_cloud_run_v2_service_iam_member.eventarc_invokes]
}

# Eventarc creates the push subscription of each trigger and Terraform cannot set its policies, so
# they are set with gcloud after creation: a 600 s ack deadline, retries with backoff, then the
# dead-letter topic. The dead-letter handler's own subscription only retries (no loop).
resource "terraform_data" "trigger_delivery_policy" {
  for_each         = local.triggers
  triggers_replace = [google_eventarc_trigger.consumer[each.key].transport[0].pubsub[0].subscription]
  provisioner "local-exec" {
    command = <<-EOT
      gcloud pubsub subscriptions update ${google_eventarc_trigger.consumer[each.key].transport[0].pubsub[0].subscription} \
        --project=${var.project_id} --ack-deadline=600 \
        ${each.value.topic == "dead-letter" ? "--clear-dead-letter-policy" : "--dead-letter-topic=${google_pubsub_topic.dead_letter.id} --max-delivery-attempts=${var.max_delivery_attempts}"} \
        --min-retry-delay=10s --max-retry-delay=600s
    EOT
  }
}

# Pub/Sub forwards dead letters with its own service agent: it must publish to the dead-letter topic
# and acknowledge on each source subscription (granted per subscription, not on the project).
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  topic  = google_pubsub_topic.dead_letter.id
  role   = "roles/pubsub.publisher"
  member = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_forwards" {
  for_each     = { for key, trigger in local.triggers : key => trigger if trigger.topic != "dead-letter" }
  subscription = google_eventarc_trigger.consumer[each.key].transport[0].pubsub[0].subscription
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}
