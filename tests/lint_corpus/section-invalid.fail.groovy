pipeline {
    agent  // <-- section-invalid
    stages { stage('a') { steps { echo 'x' } } }
}
