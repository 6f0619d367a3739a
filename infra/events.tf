# Topics, the dead-letter topic, and one Eventarc trigger per (service, topic).

resource "google_pubsub_topic" "event" {
  for_each                   = toset(local.topics)
  name                       = each.value
  message_retention_duration = "604800s" # 7 days: what `mlops replay --since` can reach
  depends_on                 = [google_project_service.apis]
}

resource "google_pubsub_topic" "dead_letter" {
  name                       = "dead-letter"
  message_retention_duration = "604800s"
}

# Where `mlops dlq list|redrive` reads dead letters from.
resource "google_pubsub_subscription" "dead_letter_store" {
  name                       = "dead-letter.store"
  topic                      = google_pubsub_topic.dead_letter.id
  message_retention_duration = "604800s"
  retain_acked_messages      = true
  ack_deadline_seconds       = 60
  expiration_policy { ttl = "" }
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
    pubsub { topic = google_pubsub_topic.event[each.value.topic].id }
  }
  destination {
    cloud_run_service {
      service = google_cloud_run_v2_service.service[each.value.service].name
      region  = var.region
    }
  }
  depends_on = [google_project_iam_member.eventarc_receiver]
}

# Eventarc creates the push subscription of each trigger and Terraform cannot set its policies, so
# they are set with gcloud after creation: retries with backoff, then the dead-letter topic.
resource "terraform_data" "trigger_delivery_policy" {
  for_each         = local.triggers
  triggers_replace = [google_eventarc_trigger.consumer[each.key].transport[0].pubsub[0].subscription]
  provisioner "local-exec" {
    command = <<-EOT
      gcloud pubsub subscriptions update ${google_eventarc_trigger.consumer[each.key].transport[0].pubsub[0].subscription} \
        --project=${var.project_id} \
        --dead-letter-topic=${google_pubsub_topic.dead_letter.id} \
        --max-delivery-attempts=${var.max_delivery_attempts} \
        --min-retry-delay=10s --max-retry-delay=600s
    EOT
  }
}

# Pub/Sub forwards dead letters with its own service agent.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  topic  = google_pubsub_topic.dead_letter.id
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_project_iam_member" "pubsub_subscriber_agent" {
  project = var.project_id
  role    = "roles/pubsub.subscriber"
  member  = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}
