pipeline {
    agent {
        kubernetes { yamlFile 'pod.yaml' }
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
